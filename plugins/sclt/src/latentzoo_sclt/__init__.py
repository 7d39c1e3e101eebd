"""sLCT: Improved Training Technique for Latent Consistency Models (Dao et al., ICLR 2025,
arXiv 2502.01441), at CPU scale in the latent space of a tiny digits autoencoder."""

__version__ = "0.1.0"
