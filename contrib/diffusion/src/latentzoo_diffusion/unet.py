"""A tiny U-Net ε/denoiser network for small images (1x8x8 digits, 1x32x32 shapes).

The DDPM U-Net (Ho et al. 2020, arXiv 2006.11239, App. B) at toy size: residual blocks
GroupNorm-SiLU-Conv3x3 with the noise-level embedding added as a per-channel scale and shift
after the second norm (the "scale-shift norm" of Improved DDPM, arXiv 2102.09672), a stride-2
conv per level on the way down, nearest-neighbour upsampling and skip concatenation on the way
up, a zero-initialised output conv. ``forward(x, t)`` returns a tensor shaped like x. Every image
side must be divisible by 2^(levels − 1).
"""

from __future__ import annotations

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError
from torch import nn

from latentzoo_diffusion.models import TimeEmbedding

__all__ = ["TinyUNet", "TinyUNetConfig", "tiny_unet"]


def _groups(channels: int) -> int:
    return 8 if channels % 8 == 0 else 1


class ResBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, time_dim: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(in_channels), in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.modulation = nn.Linear(time_dim, 2 * out_channels)
        self.norm2 = nn.GroupNorm(_groups(out_channels), out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        h = self.conv1(nn.functional.silu(self.norm1(x)))
        scale, shift = self.modulation(nn.functional.silu(embedding))[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        return self.skip(x) + self.conv2(nn.functional.silu(h))


class TinyUNet(nn.Module):
    """Args: in_channels; channels per level (e.g. (32, 64)); time_dim of the embedding."""

    def __init__(self, in_channels: int = 1, channels: tuple[int, ...] = (32, 64), time_dim: int = 64):
        super().__init__()
        self.levels = len(channels)
        self.time = TimeEmbedding(time_dim)
        self.stem = nn.Conv2d(in_channels, channels[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        width = channels[0]
        for index, size in enumerate(channels):
            self.down.append(ResBlock(width, size, time_dim))
            width = size
            last = index == len(channels) - 1
            self.downsample.append(nn.Identity() if last else nn.Conv2d(size, size, 3, stride=2, padding=1))
        self.middle = ResBlock(width, width, time_dim)
        self.up = nn.ModuleList()
        for size in reversed(channels):
            self.up.append(ResBlock(width + size, size, time_dim))
            width = size
        self.out_norm = nn.GroupNorm(_groups(width), width)
        self.out = nn.Conv2d(width, in_channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor | float | None = None) -> torch.Tensor:
        factor = 2 ** (self.levels - 1)
        if x.dim() != 4 or x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(f"the U-Net needs images (B, C, H, W) with H, W divisible by {factor}, "
                             f"found {tuple(x.shape)}")
        t = torch.zeros(len(x), device=x.device) if t is None else torch.as_tensor(t, device=x.device)
        embedding = self.time(t.expand(len(x)) if t.dim() == 0 else t)
        h = self.stem(x)
        skips = []
        for block, downsample in zip(self.down, self.downsample, strict=True):
            h = block(h, embedding)
            skips.append(h)
            h = downsample(h)
        h = self.middle(h, embedding)
        for index, block in enumerate(self.up):
            skip = skips.pop()
            if index > 0:
                h = nn.functional.interpolate(h, scale_factor=2, mode="nearest")
            h = block(torch.cat([h, skip], dim=1), embedding)
        return self.out(nn.functional.silu(self.out_norm(h)))


@attrs.frozen
class TinyUNetConfig:
    channels: tuple[int, ...] = option((32, 64), "channels per resolution level", gt=0)
    time_dim: int = option(64, "noise-level embedding width", gt=1)


def tiny_unet(config: TinyUNetConfig, ctx) -> TinyUNet:
    shape = ctx.data.input_shape if ctx is not None and ctx.data is not None else None
    if shape is None or len(shape) != 3:
        raise UserError(f"diffusion.tiny_unet needs image data (channels, height, width), found {shape}; "
                        "for builtin.digits set image = true")
    factor = 2 ** (len(config.channels) - 1)
    if shape[1] % factor or shape[2] % factor:
        raise UserError(f"diffusion.tiny_unet: image side {shape[1]}x{shape[2]} is not divisible by "
                        f"2^(levels − 1) = {factor}; use fewer channel levels")
    return TinyUNet(shape[0], config.channels, config.time_dim)
