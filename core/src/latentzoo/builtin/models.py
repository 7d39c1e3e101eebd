"""Generic backbones: MLP, a small conv net, a residual MLP.

Each has ``forward(x) -> outputs`` and ``embed(x) -> features`` (the representation metrics
use). ``out_dim = 0`` means "the data's number of classes".
"""

from __future__ import annotations

import math

import attrs
import torch
from torch import nn

from latentzoo.config import option
from latentzoo.errors import UserError

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU}


def output_dim(out_dim: int, ctx, name: str) -> int:
    if out_dim:
        return out_dim
    classes = getattr(ctx.data, "num_classes", None) if ctx is not None else None
    if not classes:
        raise UserError(f"{name}: out_dim = 0 means the data's class count, but the data has no "
                        "classes; set out_dim")
    return classes


def input_dim(ctx) -> int:
    if ctx is None or ctx.data is None:
        raise UserError("the model needs the data's input shape, but the stage has no data")
    return math.prod(ctx.data.input_shape)


# ---------------------------------------------------------------------------------------------
# MLP
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class MLPConfig:
    hidden: tuple[int, ...] = option((256, 256), "hidden layer widths", gt=0)
    out_dim: int = option(0, "outputs (0: the data's number of classes)", ge=0)
    activation: str = option("relu", "non-linearity", choices=tuple(ACTIVATIONS))
    dropout: float = option(0.0, "dropout after each hidden layer", ge=0, lt=1)


class MLP(nn.Module):
    """``x`` (flattened) -> hidden layers -> linear head."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], out_dim: int, activation: str = "relu",
                 dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_dim
        for size in hidden:
            layers += [nn.Linear(width, size), ACTIVATIONS[activation]()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = size
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, out_dim)
        self.feature_dim = width

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


def mlp(config: MLPConfig, ctx) -> MLP:
    return MLP(input_dim(ctx), config.hidden, output_dim(config.out_dim, ctx, "builtin.mlp"),
               config.activation, config.dropout)


# ---------------------------------------------------------------------------------------------
# Small conv net
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class ConvConfig:
    channels: tuple[int, ...] = option((32, 64), "channels of the 3x3 conv blocks (each halves the size)", gt=0)
    out_dim: int = option(0, "outputs (0: the data's number of classes)", ge=0)


class ConvNet(nn.Module):
    """Conv3x3-BN-ReLU blocks with stride 2, global average pooling, linear head."""

    def __init__(self, in_channels: int, channels: tuple[int, ...], out_dim: int):
        super().__init__()
        blocks: list[nn.Module] = []
        width = in_channels
        for size in channels:
            blocks += [nn.Conv2d(width, size, 3, stride=2, padding=1), nn.BatchNorm2d(size), nn.ReLU()]
            width = size
        self.body = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(width, out_dim)
        self.feature_dim = width

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


def conv(config: ConvConfig, ctx) -> ConvNet:
    shape = ctx.data.input_shape if ctx is not None and ctx.data is not None else None
    if shape is None or len(shape) != 3:
        raise UserError(f"builtin.conv needs image data shaped (channels, height, width), found "
                        f"{shape}; for builtin.digits set image = true")
    return ConvNet(shape[0], config.channels, output_dim(config.out_dim, ctx, "builtin.conv"))


# ---------------------------------------------------------------------------------------------
# Residual MLP
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class ResidualMLPConfig:
    width: int = option(256, "width of the residual stream", gt=0)
    depth: int = option(4, "number of residual blocks", gt=0)
    expansion: int = option(2, "hidden width of a block = expansion x width", gt=0)
    out_dim: int = option(0, "outputs (0: the data's number of classes)", ge=0)


class ResidualBlock(nn.Module):
    def __init__(self, width: int, expansion: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, width * expansion), nn.GELU(),
                                 nn.Linear(width * expansion, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mlp(self.norm(x))


class ResidualMLP(nn.Module):
    def __init__(self, in_dim: int, width: int, depth: int, expansion: int, out_dim: int):
        super().__init__()
        self.stem = nn.Linear(in_dim, width)
        self.blocks = nn.Sequential(*(ResidualBlock(width, expansion) for _ in range(depth)))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, out_dim)
        self.feature_dim = width

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.blocks(self.stem(x.flatten(1))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


def residual_mlp(config: ResidualMLPConfig, ctx) -> ResidualMLP:
    return ResidualMLP(input_dim(ctx), config.width, config.depth, config.expansion,
                       output_dim(config.out_dim, ctx, "builtin.residual_mlp"))
