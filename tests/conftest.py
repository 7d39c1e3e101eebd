import os

os.environ.setdefault("LATENTZOO_NO_PROGRESS", "1")
