"""Detectors for real-vs-generated 8x8 digits (OMAT, arXiv 2506.00874, Sec. 5 backbones at toy size).

- ``omat.detector``: the ResNet-50 analogue, a small CNN: Conv3x3(1→c1)-ReLU-Conv3x3(c1→c2)-ReLU,
  flatten, Linear → one logit ("fake"). No BatchNorm: the attack needs eval mode only for models
  that have it (``attack.eval_mode`` handles both).
- ``omat.detector_probe``: the CLIP-ViT-L/14 + LoRA analogue: a frozen random conv feature
  extractor (the pretrained backbone stands for a fixed representation) and a trainable
  low-rank head Linear(features→r)·Linear(r→1) (the LoRA rank r = 4 of the paper) plus bias.
Both take flat 64-vectors or 1x8x8 images and return a logit per image, shape (B,).
"""

from __future__ import annotations

import attrs
import torch
from latentzoo.config import option
from torch import nn

__all__ = ["DetectorConfig", "ConvDetector", "detector", "ProbeConfig", "ProbeDetector", "detector_probe"]


def _as_image(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(len(x), 1, 8, 8)


@attrs.frozen
class DetectorConfig:
    channels: tuple[int, int] = option((16, 32), "channels of the two conv layers", gt=0)


class ConvDetector(nn.Module):
    def __init__(self, channels=(16, 32)):
        super().__init__()
        c1, c2 = channels
        self.features = nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.Flatten())
        self.head = nn.Linear(c2 * 64, 1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(_as_image(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x)).squeeze(-1)


def detector(config: DetectorConfig, ctx) -> ConvDetector:
    if len(config.channels) != 2:
        raise ValueError(f"channels must list the 2 conv widths, found {config.channels}")
    return ConvDetector(tuple(config.channels))


@attrs.frozen
class ProbeConfig:
    channels: int = option(64, "channels of the frozen random conv features", gt=0)
    rank: int = option(4, "rank r of the trainable head (LoRA r = 4 in the paper)", gt=0)
    feature_seed: int = option(0, "seed of the frozen random features")


class ProbeDetector(nn.Module):
    def __init__(self, channels: int = 64, rank: int = 4, feature_seed: int = 0):
        super().__init__()
        draws = torch.Generator().manual_seed(feature_seed)
        # frozen "pretrained" features: buffers, not parameters (never trained, checkpointed)
        self.register_buffer("kernel", torch.randn(channels, 1, 3, 3, generator=draws) / 3.0)
        self.down = nn.Linear(channels * 16, rank, bias=False)
        self.up = nn.Linear(rank, 1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(nn.functional.conv2d(_as_image(x), self.kernel, padding=1))
        return nn.functional.avg_pool2d(h, 2).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.down(self.embed(x))).squeeze(-1)


def detector_probe(config: ProbeConfig, ctx) -> ProbeDetector:
    return ProbeDetector(config.channels, config.rank, config.feature_seed)
