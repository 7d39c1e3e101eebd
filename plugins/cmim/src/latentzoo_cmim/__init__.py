"""latentzoo-cmim: contrastive MIM (Livne 2025, arXiv 2502.19642).

- :mod:`latentzoo_cmim.models`: the Gaussian encoder q(z|x) and decoder p(x|z) as one
  auto-encoder (``embed(x) = μ(x)``);
- :mod:`latentzoo_cmim.priors`: the anchor prior P(z) = N(0, I) and a learnable mixture;
- :mod:`latentzoo_cmim.losses`: A-MIM, VAE, the cMIM contrastive term and their sum;
- :mod:`latentzoo_cmim.metrics`: informative embeddings and reconstruction error.
"""
