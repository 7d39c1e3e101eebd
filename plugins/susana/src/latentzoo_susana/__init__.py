"""latentzoo plugin for SuSana (Mendez-Ruiz et al. 2023, arXiv 2305.09062): ProtoNet with the
Proto-Triplet and ICNN losses for few-shot classification."""

__version__ = "0.1.0"
