"""latentzoo plugin for "Revisiting Discriminative vs. Generative Classifiers: Theory and
Implications" (Zheng, Wu, Bao, Cao, Li, Zhu; ICML 2023; arXiv:2302.02334).

Pooled Gaussian naive Bayes vs logistic regression over training-set sizes, on simulated
Gaussian mixtures and on the frozen features of an earlier training stage.
"""

__version__ = "0.1.0"
