"""The ε-prediction DDPM training loss (Ho et al. 2020, arXiv 2006.11239, Algorithm 1, Eq. 14).

L_simple = E_{t, x_0, ε} ‖ε − ε_θ(√ᾱ_t x_0 + √(1 − ᾱ_t) ε, t)‖², t ~ U{0..T−1}, ε ~ N(0, I),
averaged over the elements (the mean-squared-error form of DDPM's reference code).
The network is called as ``model(x_t, t)`` with t the integer timestep as a float.
"""

from __future__ import annotations

import attrs
import torch
import torch.nn.functional as F
from latentzoo.config import option
from torch import nn

from latentzoo_diffusion.schedules import alphas_cumprod, make_betas

__all__ = ["DDPMLossConfig", "DDPMEpsilonLoss", "noise_sample"]


def noise_sample(x0: torch.Tensor, noise: torch.Tensor, alpha_bar_t: torch.Tensor) -> torch.Tensor:
    """DDPM Eq. 4: x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε (ᾱ_t per example, broadcast over the rest)."""
    alpha_bar_t = alpha_bar_t.reshape(-1, *([1] * (x0.dim() - 1))).to(x0.dtype)
    return alpha_bar_t.sqrt() * x0 + (1 - alpha_bar_t).sqrt() * noise


@attrs.frozen
class DDPMLossConfig:
    timesteps: int = option(1000, "length T of the diffusion chain", gt=1)
    schedule: str = option("linear", "β schedule", choices=("linear", "cosine"))
    key: str = option("x", "batch key of the clean data x_0")


class DDPMEpsilonLoss(nn.Module):
    """``loss(model, batch)``: mean over the batch and elements of (ε − model(x_t, t))²."""

    def __init__(self, config: DDPMLossConfig, ctx=None):
        super().__init__()
        self.timesteps = config.timesteps
        self.key = config.key
        betas = make_betas(config.schedule, config.timesteps)
        self.register_buffer("alpha_bar", alphas_cumprod(betas).float(), persistent=False)

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x0 = batch[self.key].float()
        t = torch.randint(0, self.timesteps, (len(x0),), device=x0.device)
        noise = batch["noise"] if "noise" in batch else torch.randn_like(x0)
        x_t = noise_sample(x0, noise, self.alpha_bar[t])
        loss = F.mse_loss(model(x_t, t.float()), noise)
        return {"loss": loss}
