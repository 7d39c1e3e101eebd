"""The dual-head student and a small 1-D CNN teacher (arXiv:2411.08937, Sec. 4 / Fig. 3).

DHKD keeps one backbone ``φ(x) ∈ R^d`` and gives it two classifiers::

    z₁ = head1(φ(x))   trained with CE, the only head used at test time
    z₂ = head2(φ(x))   trained with BinaryKL-Norm against the teacher, discarded after training

head1 is ``Linear(d, C)``. head2 is ``Linear(d, C)`` (the official ``--linear``, ImageNet) or the
official ``NonLinearClassifier`` (``--nonlinear``, CIFAR):
``Linear(d, 200) – Dropout(0.1) – BatchNorm1d(200) – ReLU – Linear(200, C)``.

In the official code the student's ``forward`` returns ``[z₁, z₂]``. Here ``forward(x)`` returns
z₁ only, so every head-agnostic consumer (``builtin.accuracy``, a later stage that uses the
student as a teacher) sees the test-time head, and :meth:`DualHeadNet.forward_heads` returns
``(z₁, z₂)`` for the DHKD loss. ``head2 = "none"`` gives the same backbone and head 1 without the
auxiliary head: the single-head baselines at equal architecture.
"""

from __future__ import annotations

import math

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError
from torch import nn

__all__ = ["Conv1dBackbone", "Conv1dNet", "DualHeadNet", "NonLinearClassifier", "conv1d", "dual_head"]

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}


def _classes(out_dim: int, ctx, name: str) -> int:
    if out_dim:
        return out_dim
    classes = getattr(getattr(ctx, "data", None), "num_classes", None)
    if not classes:
        raise UserError(f"{name}: out_dim = 0 means the data's class count, but the data has no "
                        "classes; set out_dim")
    return classes


def _input_shape(ctx, name: str) -> tuple[int, ...]:
    shape = getattr(getattr(ctx, "data", None), "input_shape", None)
    if shape is None:
        raise UserError(f"{name} needs the data's input shape, but the stage has no data")
    return tuple(shape)


# ---------------------------------------------------------------------------------------------
# Backbones
# ---------------------------------------------------------------------------------------------


class MLPBackbone(nn.Module):
    """``x`` (flattened) → Linear–activation blocks; feature dimension = the last width."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], activation: str = "relu"):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_dim
        for size in hidden:
            layers += [nn.Linear(width, size), ACTIVATIONS[activation]()]
            width = size
        self.layers = nn.Sequential(*layers)
        self.feature_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x.flatten(1))


class Conv1dBackbone(nn.Module):
    """Conv1d(k, stride 2)–BatchNorm–ReLU blocks on a 1-D signal, flattened.

    Input ``(N, L)`` (one channel) or ``(N, channels, L)``; each block halves the length.
    """

    def __init__(self, in_shape: tuple[int, ...], channels: tuple[int, ...], kernel: int = 5):
        super().__init__()
        if len(in_shape) not in (1, 2):
            raise UserError(f"a 1-D conv net needs signals shaped (length,) or (channels, length), "
                            f"found input shape {in_shape}")
        in_channels, length = (1, in_shape[0]) if len(in_shape) == 1 else in_shape
        blocks: list[nn.Module] = []
        width = in_channels
        for size in channels:
            blocks += [nn.Conv1d(width, size, kernel, stride=2, padding=kernel // 2),
                       nn.BatchNorm1d(size), nn.ReLU()]
            width = size
            length = (length + 2 * (kernel // 2) - kernel) // 2 + 1
        self.blocks = nn.Sequential(*blocks)
        self.unsqueeze = len(in_shape) == 1
        self.feature_dim = width * length

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.unsqueeze:
            x = x.unsqueeze(1)
        return self.blocks(x).flatten(1)


# ---------------------------------------------------------------------------------------------
# Heads and models
# ---------------------------------------------------------------------------------------------


class NonLinearClassifier(nn.Module):
    """The official CIFAR auxiliary head: Linear(d,200)–Dropout(0.1)–BN(200)–ReLU–Linear(200,C)."""

    def __init__(self, dim_in: int, num_classes: int, hidden: int = 200, dropout: float = 0.1):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim_in, hidden), nn.Dropout(dropout), nn.BatchNorm1d(hidden),
                                 nn.ReLU(), nn.Linear(hidden, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class DualHeadNet(nn.Module):
    """Backbone φ with the CE head ``head1`` and, optionally, the auxiliary head ``head2``."""

    def __init__(self, backbone: nn.Module, num_classes: int, head2: str = "linear",
                 head2_hidden: int = 200, head2_dropout: float = 0.1):
        super().__init__()
        self.backbone = backbone
        self.feature_dim = backbone.feature_dim
        self.head1 = nn.Linear(self.feature_dim, num_classes)
        if head2 == "linear":
            self.head2: nn.Module | None = nn.Linear(self.feature_dim, num_classes)
        elif head2 == "mlp":
            self.head2 = NonLinearClassifier(self.feature_dim, num_classes, head2_hidden, head2_dropout)
        else:
            self.head2 = None

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """z₁, the test-time logits."""
        return self.head1(self.backbone(x))

    def forward_heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(z₁, z₂)`` from one backbone pass; z₂ is None without an auxiliary head."""
        features = self.backbone(x)
        z2 = self.head2(features) if self.head2 is not None else None
        return self.head1(features), z2


class Conv1dNet(nn.Module):
    """The 1-D CNN teacher: :class:`Conv1dBackbone` and a linear head."""

    def __init__(self, in_shape: tuple[int, ...], channels: tuple[int, ...], kernel: int, num_classes: int):
        super().__init__()
        self.backbone = Conv1dBackbone(in_shape, channels, kernel)
        self.feature_dim = self.backbone.feature_dim
        self.head = nn.Linear(self.feature_dim, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


# ---------------------------------------------------------------------------------------------
# Configs and factories
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class DualHeadConfig:
    backbone: str = option("mlp", "backbone φ", choices=("mlp", "conv1d"))
    hidden: tuple[int, ...] = option((64, 64), "mlp backbone: hidden widths (the last is d)", gt=0)
    activation: str = option("relu", "mlp backbone: non-linearity", choices=tuple(ACTIVATIONS))
    channels: tuple[int, ...] = option((32, 64, 64), "conv1d backbone: channels of the stride-2 blocks", gt=0)
    kernel: int = option(5, "conv1d backbone: kernel size", gt=0)
    head2: str = option("linear", "auxiliary head: linear (--linear), mlp (--nonlinear), none",
                        choices=("linear", "mlp", "none"))
    head2_hidden: int = option(200, "mlp head2: hidden width (official: 200)", gt=0)
    head2_dropout: float = option(0.1, "mlp head2: dropout (official: 0.1)", ge=0, lt=1)
    out_dim: int = option(0, "classes C (0: the data's number of classes)", ge=0)


def dual_head(config: DualHeadConfig, ctx) -> DualHeadNet:
    name = "dual_head_kd.dual_head"
    shape = _input_shape(ctx, name)
    if config.backbone == "mlp":
        backbone: nn.Module = MLPBackbone(math.prod(shape), config.hidden, config.activation)
    else:
        backbone = Conv1dBackbone(shape, config.channels, config.kernel)
    return DualHeadNet(backbone, _classes(config.out_dim, ctx, name), config.head2,
                       config.head2_hidden, config.head2_dropout)


@attrs.frozen
class Conv1dConfig:
    channels: tuple[int, ...] = option((32, 64, 64), "channels of the stride-2 Conv1d–BN–ReLU blocks", gt=0)
    kernel: int = option(5, "kernel size", gt=0)
    out_dim: int = option(0, "outputs (0: the data's number of classes)", ge=0)


def conv1d(config: Conv1dConfig, ctx) -> Conv1dNet:
    name = "dual_head_kd.conv1d"
    return Conv1dNet(_input_shape(ctx, name), config.channels, config.kernel,
                     _classes(config.out_dim, ctx, name))
