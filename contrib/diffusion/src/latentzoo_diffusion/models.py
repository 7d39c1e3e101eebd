"""A residual-MLP denoiser for flat data (8x8 digits as 64-vectors, 2-D toys, small latents).

``ResidualDenoiser(x, t) -> same shape as x``: x is flattened, lifted to ``width``, passed
through ``depth`` pre-norm residual blocks whose norm output is modulated by the noise-level
embedding (adaLN: h = norm(x)·(1 + scale(t)) + shift(t), block output gated by gate(t), as in
DiT, Peebles & Xie 2023, arXiv 2212.09748; the modulation is zero-initialised, so each block
starts as an unmodulated pre-norm residual block),
then projected back. ``t`` is any real number per example (a DDPM timestep index, or an EDM
c_noise such as ln(σ)/4 or 250·ln σ): it goes through sinusoidal features (Vaswani et al. 2017,
as in DDPM's U-Net) and a two-layer MLP.

The norm in each block is chosen by ``norm``: ``"layernorm"`` (affine LayerNorm),
``"plain"`` (affine-free) or any callable ``width -> nn.Module`` passed from Python (a plugin
passes e.g. a non-scaling LayerNorm).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError
from torch import nn

__all__ = ["sinusoidal_embedding", "TimeEmbedding", "AdaLNBlock", "ResidualDenoiser",
           "DenoiserConfig", "mlp_denoiser"]


def sinusoidal_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """[cos(t·ω_k), sin(t·ω_k)], ω_k = max_period^(−k/half), k = 0..half−1 (DDPM/Transformer)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32,
                                                            device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    embedding = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        embedding = torch.cat([embedding, torch.zeros_like(embedding[:, :1])], dim=-1)
    return embedding


class TimeEmbedding(nn.Module):
    """Sinusoidal features of t, then Linear-SiLU-Linear."""

    def __init__(self, dim: int, frequency_dim: int = 128):
        super().__init__()
        self.frequency_dim = frequency_dim
        self.mlp = nn.Sequential(nn.Linear(frequency_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(sinusoidal_embedding(t, self.frequency_dim))


def make_norm(norm: str | Callable[[int], nn.Module], width: int) -> nn.Module:
    if callable(norm):
        return norm(width)
    if norm == "layernorm":
        return nn.LayerNorm(width)
    if norm == "plain":
        return nn.LayerNorm(width, elementwise_affine=False)
    raise ValueError(f"unknown norm '{norm}' (choose 'layernorm' or 'plain', or pass a callable)")


class AdaLNBlock(nn.Module):
    """x + gate(t)·MLP(norm(x)·(1 + scale(t)) + shift(t)); modulation zero-initialised."""

    def __init__(self, width: int, expansion: int, time_dim: int, norm, dropout: float = 0.0):
        super().__init__()
        self.norm = make_norm(norm, width)
        self.mlp = nn.Sequential(nn.Linear(width, width * expansion), nn.SiLU(), nn.Dropout(dropout),
                                 nn.Linear(width * expansion, width))
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(time_dim, 3 * width))
        nn.init.zeros_(self.modulation[1].weight)
        nn.init.zeros_(self.modulation[1].bias)

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        shift, scale, gate = self.modulation(embedding).chunk(3, dim=-1)
        h = self.norm(x) * (1 + scale) + shift
        return x + (1 + gate) * self.mlp(h)


class ResidualDenoiser(nn.Module):
    """x (any shape, flattened to ``in_dim``) and t (per example) -> output shaped like x.

    Args:
        in_dim: flattened input size; the output has the same size.
        width: residual stream width.
        depth: number of adaLN residual blocks.
        expansion: hidden width of a block's MLP = expansion·width.
        time_dim: width of the noise-level embedding.
        norm: "layernorm", "plain" or a callable ``width -> nn.Module``.
        dropout: dropout inside each block's MLP.
    """

    def __init__(self, in_dim: int, width: int = 256, depth: int = 4, expansion: int = 2,
                 time_dim: int = 128, norm="layernorm", dropout: float = 0.0):
        super().__init__()
        self.in_dim = in_dim
        self.time = TimeEmbedding(time_dim)
        self.stem = nn.Linear(in_dim, width)
        self.blocks = nn.ModuleList(AdaLNBlock(width, expansion, time_dim, norm, dropout)
                                    for _ in range(depth))
        self.final_norm = make_norm(norm, width)
        self.head = nn.Linear(width, in_dim)

    def forward(self, x: torch.Tensor, t: torch.Tensor | float | None = None) -> torch.Tensor:
        shape = x.shape
        h = x.reshape(len(x), -1)
        if h.shape[1] != self.in_dim:
            raise ValueError(f"the denoiser expects {self.in_dim} values per example, found {h.shape[1]}")
        t = torch.zeros(len(x), device=x.device) if t is None else torch.as_tensor(t, device=x.device)
        if t.dim() == 0:
            t = t.expand(len(x))
        embedding = self.time(t.reshape(len(x)))
        h = self.stem(h)
        for block in self.blocks:
            h = block(h, embedding)
        return self.head(self.final_norm(h)).reshape(shape)


@attrs.frozen
class DenoiserConfig:
    width: int = option(256, "residual stream width", gt=0)
    depth: int = option(4, "adaLN residual blocks", gt=0)
    expansion: int = option(2, "block MLP hidden width = expansion x width", gt=0)
    time_dim: int = option(128, "noise-level embedding width", gt=1)
    norm: str = option("layernorm", "block norm: affine LayerNorm or affine-free",
                       choices=("layernorm", "plain"))
    dropout: float = option(0.0, "dropout inside each block", ge=0, lt=1)
    latent_dim: int = option(0, "input size; 0: the data's flattened input size", ge=0)


def mlp_denoiser(config: DenoiserConfig, ctx) -> ResidualDenoiser:
    if config.latent_dim:
        in_dim = config.latent_dim
    elif ctx is not None and ctx.data is not None:
        in_dim = math.prod(ctx.data.input_shape)
    else:
        raise UserError("diffusion.mlp_denoiser needs the data's input shape or latent_dim > 0")
    return ResidualDenoiser(in_dim, config.width, config.depth, config.expansion, config.time_dim,
                            config.norm, config.dropout)
