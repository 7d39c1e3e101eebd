"""latentzoo plugin omat: On-Manifold Adversarial Training (arXiv 2506.00874)."""
