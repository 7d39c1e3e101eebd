"""latentzoo plugin projection_head."""
