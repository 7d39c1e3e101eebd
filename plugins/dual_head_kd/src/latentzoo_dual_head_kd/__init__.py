"""Dual-Head Knowledge Distillation (Yang, Zong, Huang, Feng, An; arXiv:2411.08937) for latentzoo."""
