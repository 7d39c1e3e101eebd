"""pytest entry point of the latentzoo test kit."""
