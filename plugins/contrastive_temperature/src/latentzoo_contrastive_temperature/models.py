"""The encoder of the small-scale reproduction: an MLP onto the unit hypersphere.

Wang & Liu (arXiv 2012.09740) analyse embeddings f(x) with ‖f(x)‖ = 1; the loss and every
metric use this normalised output, so ``embed(x) = forward(x)`` (there is no separate
projection head here, hence no pre-/post-head split to report).
"""

from __future__ import annotations

import math

import attrs
import torch
import torch.nn.functional as F
from latentzoo.config import option
from latentzoo.errors import UserError
from torch import nn

__all__ = ["SphereMLPConfig", "SphereMLP", "mlp_encoder"]


@attrs.frozen
class SphereMLPConfig:
    hidden: tuple[int, ...] = option((256, 256), "hidden widths (64 → 256 → 256 → 64 in the spec)", gt=0)
    out_dim: int = option(64, "embedding dimension d of the hypersphere S^(d-1)", gt=1)
    batch_norm: bool = option(True, "BatchNorm before each ReLU")


class SphereMLP(nn.Module):
    """Linear → BN → ReLU per hidden width, a final Linear, then L2 normalisation."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], out_dim: int, batch_norm: bool = True):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_dim
        for size in hidden:
            layers.append(nn.Linear(width, size))
            if batch_norm:
                layers.append(nn.BatchNorm1d(size))
            layers.append(nn.ReLU())
            width = size
        layers.append(nn.Linear(width, out_dim))
        self.net = nn.Sequential(*layers)
        self.feature_dim = out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net(x.flatten(1)), dim=1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x)


def mlp_encoder(config: SphereMLPConfig, ctx) -> SphereMLP:
    if ctx is None or ctx.data is None:
        raise UserError("contrastive_temperature.mlp_encoder needs the stage's data for its input size")
    return SphereMLP(math.prod(ctx.data.input_shape), config.hidden, config.out_dim, config.batch_norm)
