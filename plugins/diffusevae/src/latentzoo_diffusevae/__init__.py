"""latentzoo plugin: DiffuseVAE (Pandey et al., TMLR 2022, arXiv 2201.00308).

A VAE (stage 1) generates a blurry x̂ from a low-dimensional z; a DDPM conditioned on x̂
(stage 2, Form 1 or Form 2) refines it in a few DDIM/DDPM steps (stage 3, generate).
"""

__version__ = "0.1.0"
