"""A generic sampler: Gaussian noise on inputs (training), model(z) from Gaussian z (generation)."""

from __future__ import annotations

import attrs
import torch

from latentzoo.config import option


@attrs.frozen
class GaussianNoiseConfig:
    std: float = option(0.1, "training: std of the noise added to x", ge=0)
    latent_dim: int = option(2, "generation: dimension of z ~ N(0, I) fed to the model", gt=0)


class GaussianNoise:
    """``batch['x'] + std·ε`` for training; ``sample(model, n) = model(z)`` for generation."""

    def __init__(self, config: GaussianNoiseConfig, ctx=None):
        self.std = config.std
        self.latent_dim = config.latent_dim

    def __call__(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {**batch, "x": batch["x"] + self.std * torch.randn_like(batch["x"])}

    def sample(self, model: torch.nn.Module, num: int) -> torch.Tensor:
        device = next(model.parameters()).device
        return model(torch.randn(num, self.latent_dim, device=device))
