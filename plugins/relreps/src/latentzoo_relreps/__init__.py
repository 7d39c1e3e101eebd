"""latentzoo plugin for Relative Representations (Moschella et al., ICLR 2023, arXiv 2209.15430)."""
