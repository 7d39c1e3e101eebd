"""latentzoo contrib: diffusion building blocks shared by generative paper plugins.

- :mod:`latentzoo_diffusion.schedules`: DDPM (linear, cosine) and EDM/Karras noise schedules.
- :mod:`latentzoo_diffusion.models`: a residual-MLP denoiser with a noise-level embedding.
- :mod:`latentzoo_diffusion.losses`: the ε-prediction DDPM loss.
- :mod:`latentzoo_diffusion.samplers`: DDPM ancestral and DDIM samplers with a chosen step count.
- :mod:`latentzoo_diffusion.metrics`: sampling cost (network evaluations, wall time per 1000).
"""

__version__ = "0.1.0"
