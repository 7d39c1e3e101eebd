"""The latentzoo test kit (filled in below)."""
