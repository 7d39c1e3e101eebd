"""latentzoo's own components, registered through the same hooks as every plugin."""
