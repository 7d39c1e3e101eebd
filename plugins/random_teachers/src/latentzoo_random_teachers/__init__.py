"""latentzoo plugin: "Random Teachers are Good Teachers" (Sarnthein et al., ICML 2023, arXiv 2302.12091)."""
