"""The tiny MLP autoencoder whose latent space the consistency model lives in (stage 1).

Encoder 64 → hidden → D, decoder D → hidden → 64 with a sigmoid (digits are in [0, 1]).
Trained with ``builtin.mse`` (target ``x``). Later stages standardise its latents per element
to std σ_d = 0.5, as in sLCT (latents x ← (x − mean)/std·0.5), with statistics of the training
split: :func:`latent_statistics` and :class:`LatentCodec`.
"""

from __future__ import annotations

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError
from torch import nn

__all__ = ["AutoencoderConfig", "Autoencoder", "autoencoder", "latent_statistics", "LatentCodec"]


@attrs.frozen
class AutoencoderConfig:
    latent_dim: int = option(16, "latent dimension D", gt=0)
    hidden: int = option(128, "hidden width of encoder and decoder", gt=0)


class Autoencoder(nn.Module):
    def __init__(self, in_dim: int = 64, latent_dim: int = 16, hidden: int = 128):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(nn.Linear(in_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden),
                                     nn.SiLU(), nn.Linear(hidden, latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden),
                                     nn.SiLU(), nn.Linear(hidden, in_dim), nn.Sigmoid())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    embed = encode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x)).reshape(x.shape)


def autoencoder(config: AutoencoderConfig, ctx) -> Autoencoder:
    if ctx is None or ctx.data is None or tuple(ctx.data.input_shape) != (64,):
        shape = getattr(getattr(ctx, "data", None), "input_shape", None)
        raise UserError(f"sclt.autoencoder expects flat 8x8 digits (input_shape (64,)), found {shape}")
    return Autoencoder(64, config.latent_dim, config.hidden)


@torch.no_grad()
def latent_statistics(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-element mean and std of ``model.encode(x)`` (eval mode, CPU)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    z = torch.cat([model.encode(chunk.to(device)).cpu() for chunk in x.split(1024)])
    model.train(was_training)
    return z.mean(0), z.std(0).clamp(min=1e-6)


class LatentCodec:
    """Standardised latents: encode(x) = (E(x) − mean)/std·σ_d; decode inverts and runs D."""

    def __init__(self, model: nn.Module, train_x: torch.Tensor, sigma_data: float = 0.5):
        if not (callable(getattr(model, "encode", None)) and callable(getattr(model, "decode", None))):
            raise UserError(f"the autoencoder artifact ({type(model).__name__}) needs encode() and decode()")
        self.model = model
        self.sigma_data = sigma_data
        self.mean, self.std = latent_statistics(model, train_x)
        self.latent_dim = len(self.mean)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        z = self.model.encode(x.to(next(self.model.parameters()).device))
        return (z - self.mean.to(z)) / self.std.to(z) * self.sigma_data

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        z = z.to(next(self.model.parameters()).device)
        return self.model.decode(z / self.sigma_data * self.std.to(z) + self.mean.to(z))
