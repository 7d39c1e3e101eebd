"""latentzoo new-plugin."""
