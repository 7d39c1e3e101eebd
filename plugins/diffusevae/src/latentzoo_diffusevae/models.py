"""Stage 2 network of DiffuseVAE: ε_θ([x_t ‖ x̂], t) conditioned on the VAE reconstruction.

Pandey et al. 2022 (arXiv 2201.00308), Sec. 3.2: the condition x̂ = 2·Dec(z) − 1 is concatenated
with the noisy input along the channels (``SuperResModel`` of the official ``unet_openai.py``:
2C input channels, C output channels). With ``z_dim > 0`` the VAE latent z also enters through the
scale-shift normalisation (the official ``z_cond`` option): its linear projection is added to the
noise-level embedding that modulates every block.

For images (the real-scale config) ``ConditionalUNet`` is latentzoo-diffusion's ``TinyUNet`` with
2C input channels; its first C output channels are ε̂ (the U-Net has no out-channel option).

CPU setting: an MLP on the flattened concatenation (128 values for 8x8 digits), built from
latentzoo-diffusion's sinusoidal ``TimeEmbedding`` and adaLN residual blocks
(norm(h)·(1 + scale) + shift, Peebles & Xie 2023), ``depth`` blocks of ``width`` with SiLU.

``form`` says how x̂ enters the diffusion: "form1" (only the network), "form2" (also the forward
mean, s_t = x_t + x̂) or "none", the unconditional baseline: the same network with x̂ = 0. The loss
and the samplers read it from the model, so training and sampling cannot disagree.
"""

from __future__ import annotations

import math

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError
from latentzoo_diffusion.models import AdaLNBlock, TimeEmbedding
from latentzoo_diffusion.unet import TinyUNet
from torch import nn

from latentzoo_diffusevae.diffusion import FORMS

__all__ = ["ConditionalDenoiser", "CondDenoiserConfig", "cond_denoiser", "ConditionalUNet",
           "CondUNetConfig", "cond_unet"]


class ConditionalDenoiser(nn.Module):
    """``model(x_t, t, cond=None, z=None) -> ε̂`` shaped like x_t.

    Args:
        input_shape: shape of one example (x_t and x̂ each).
        form: "form1", "form2" or "none" (unconditional: x̂ is always 0).
        width, depth, expansion, time_dim: the residual MLP (``depth`` adaLN blocks).
        z_dim: dimension of the VAE latent fed through the modulation (0: off).
        dropout: dropout inside each block.
    """

    def __init__(self, input_shape: tuple[int, ...], form: str = "form1", width: int = 512,
                 depth: int = 3, expansion: int = 1, time_dim: int = 128, z_dim: int = 0,
                 dropout: float = 0.0):
        super().__init__()
        if form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, found '{form}'")
        self.input_shape = tuple(input_shape)
        self.form = form
        self.z_dim = z_dim
        size = math.prod(self.input_shape)
        self.time = TimeEmbedding(time_dim)
        self.z_projection = nn.Linear(z_dim, time_dim) if z_dim else None
        self.stem = nn.Linear(2 * size, width)  # [x_t ‖ x̂]: 2C channels in
        self.blocks = nn.ModuleList(AdaLNBlock(width, expansion, time_dim, "layernorm", dropout)
                                    for _ in range(depth))
        self.final_norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, size)  # C channels out

    def forward(self, x: torch.Tensor, t: torch.Tensor | float, cond: torch.Tensor | None = None,
                z: torch.Tensor | None = None) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"the denoiser expects inputs of shape {self.input_shape}, found {tuple(x.shape[1:])}")
        if cond is None or self.form == "none":
            cond = torch.zeros_like(x)
        h = torch.cat([x.reshape(len(x), -1), cond.reshape(len(x), -1)], dim=-1)
        t = torch.as_tensor(t, device=x.device, dtype=torch.float32)
        embedding = self.time(t.expand(len(x)) if t.dim() == 0 else t.reshape(len(x)))
        if self.z_projection is not None:
            embedding = embedding + self.z_projection(torch.zeros(len(x), self.z_dim, device=x.device)
                                                      if z is None or self.form == "none" else z)
        h = self.stem(h)
        for block in self.blocks:
            h = block(h, embedding)
        return self.head(self.final_norm(h)).reshape(x.shape)


@attrs.frozen
class CondDenoiserConfig:
    form: str = option("form1", "how x̂ enters: the network only (form1), also the forward mean "
                       "(form2), or not at all (none: the unconditional baseline)", choices=FORMS)
    width: int = option(512, "residual stream width", gt=0)
    depth: int = option(3, "adaLN residual blocks", gt=0)
    expansion: int = option(1, "block MLP hidden width = expansion x width", gt=0)
    time_dim: int = option(128, "noise-level embedding width", gt=1)
    z_dim: int = option(0, "feed the VAE latent z through the modulation (its dimension; 0: off)", ge=0)
    dropout: float = option(0.0, "dropout inside each block", ge=0, lt=1)


def cond_denoiser(config: CondDenoiserConfig, ctx) -> ConditionalDenoiser:
    if ctx is None or ctx.data is None:
        raise UserError("diffusevae.cond_denoiser needs the stage's data to know the input shape")
    return ConditionalDenoiser(ctx.data.input_shape, config.form, config.width, config.depth,
                               config.expansion, config.time_dim, config.z_dim, config.dropout)


class ConditionalUNet(nn.Module):
    """``model(x_t, t, cond=None, z=None)`` for images: TinyUNet on [x_t ‖ x̂] (2C channels), C out."""

    def __init__(self, input_shape: tuple[int, ...], form: str = "form1",
                 channels: tuple[int, ...] = (64, 128, 128), time_dim: int = 128):
        super().__init__()
        if form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, found '{form}'")
        self.input_shape = tuple(input_shape)
        self.form = form
        self.z_dim = 0
        self.unet = TinyUNet(2 * self.input_shape[0], tuple(channels), time_dim)

    def forward(self, x: torch.Tensor, t: torch.Tensor | float, cond: torch.Tensor | None = None,
                z: torch.Tensor | None = None) -> torch.Tensor:
        if cond is None or self.form == "none":
            cond = torch.zeros_like(x)
        t = torch.as_tensor(t, device=x.device, dtype=torch.float32)
        return self.unet(torch.cat([x, cond], dim=1), t)[:, : self.input_shape[0]]


@attrs.frozen
class CondUNetConfig:
    form: str = option("form1", "how x̂ enters: network only (form1), also the forward mean (form2), "
                       "or not at all (none)", choices=FORMS)
    channels: tuple[int, ...] = option((64, 128, 128), "U-Net channels per resolution level", gt=0)
    time_dim: int = option(128, "noise-level embedding width", gt=1)


def cond_unet(config: CondUNetConfig, ctx) -> ConditionalUNet:
    shape = ctx.data.input_shape if ctx is not None and ctx.data is not None else None
    if shape is None or len(shape) != 3:
        raise UserError(f"diffusevae.cond_unet needs image data (channels, height, width), found {shape}; "
                        "for diffusevae.digits set image = true")
    factor = 2 ** (len(config.channels) - 1)
    if shape[1] % factor or shape[2] % factor:
        raise UserError(f"diffusevae.cond_unet: image side {shape[1]}x{shape[2]} is not divisible by "
                        f"2^(levels - 1) = {factor}; use fewer channel levels")
    return ConditionalUNet(shape, config.form, config.channels, config.time_dim)
