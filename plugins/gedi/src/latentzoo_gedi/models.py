"""GEDI's network: backbone + projector, read both as a cluster posterior and as an energy.

GEDI (Sansone & Manhaeve, arXiv 2401.00873) uses one network f_θ for the two halves of
its objective: the cluster posterior p(y|x) = softmax(f_θ(x)) and the energy
E_θ(x) = −logsumexp_y f_θ(x)_y (JEM's reading of a classifier's logits). f_θ = projector ∘
backbone / τ with τ = 0.1, as in the author's CPLearn code (the forward returns
projector(feats) / 0.1).

The backbone has no batch normalisation: the energy of one input must not depend on the rest
of the batch (SGLD). CPLearn's projector is Linear–BN–ReLU–Linear; ``projector_bn = true``
restores it for the discriminative-only variant (``gedi.nogen``). The projector is built with
latentzoo-ssl's :func:`~latentzoo_ssl.models.projection_mlp`.

``embed(x)`` returns the backbone features (what the linear probe sees); ``forward(x)`` the
scaled logits f_θ(x) (what the losses, NMI and the energy see).
"""

from __future__ import annotations

import math

import attrs
import torch
from latentzoo.build import build
from latentzoo.config import ModelSpec, option
from latentzoo.errors import UserError
from latentzoo_ssl.models import projection_mlp
from torch import nn

__all__ = ["GEDINetwork", "MLPConfig", "EncoderConfig", "mlp", "encoder_network"]

ACTIVATIONS = {"silu": nn.SiLU, "relu": nn.ReLU, "gelu": nn.GELU}


class GEDINetwork(nn.Module):
    """``forward(x) = projector(backbone(x)) / τ`` (cluster logits), ``embed(x) = backbone(x)``."""

    def __init__(self, backbone: nn.Module, projector: nn.Module, temperature: float):
        super().__init__()
        self.backbone = backbone
        self.projector = projector
        self.temperature = temperature

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.embed(x)) / self.temperature


@attrs.define(frozen=True, slots=False)
class HeadOptions:
    """Fields shared by both factories (projector and temperature)."""

    clusters: int = option(0, "number of clusters C = projector outputs (0: the data's class count)", ge=0)
    projector_hidden: tuple[int, ...] = option((128,), "hidden widths of the projector", gt=0)
    projector_bn: bool = option(False, "BatchNorm in the projector (CPLearn); breaks per-example energies")
    temperature: float = option(0.1, "τ: logits f(x) = projector(features) / τ (CPLearn: 0.1)", gt=0)


@attrs.frozen
class MLPConfig(HeadOptions):
    hidden: tuple[int, ...] = option((128, 128), "backbone widths (2 -> 128 -> 128 on the toys)", gt=0)
    activation: str = option("silu", "backbone non-linearity (smooth for SGLD)", choices=tuple(ACTIVATIONS))


@attrs.frozen
class EncoderConfig(HeadOptions):
    encoder: ModelSpec = option(factory=lambda: ModelSpec.of("builtin.conv"),
                                doc="backbone: any registered model with embed() (its head is dropped)")


def _clusters(config: HeadOptions, ctx, name: str) -> int:
    if config.clusters:
        return config.clusters
    classes = getattr(getattr(ctx, "data", None), "num_classes", None)
    if not classes:
        raise UserError(f"{name}: clusters = 0 means the data's class count, but the data has none; set clusters")
    return classes


def mlp(config: MLPConfig, ctx) -> GEDINetwork:
    """The toy network of the spec: MLP backbone (SiLU, no BN) + projector, logits / τ."""
    if ctx is None or ctx.data is None:
        raise UserError("gedi.mlp needs the stage's data to size its input")
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(ctx.data.input_shape)
    for size in config.hidden:
        layers += [nn.Linear(width, size), ACTIVATIONS[config.activation]()]
        width = size
    projector = projection_mlp(width, config.projector_hidden, _clusters(config, ctx, "gedi.mlp"),
                               config.projector_bn)
    return GEDINetwork(nn.Sequential(*layers), projector, config.temperature)


class _Embed(nn.Module):
    """A registered model's ``embed`` as a module (its classification head is dropped)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        if isinstance(getattr(model, "head", None), nn.Module):
            model.head = nn.Identity()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.embed(x)


def encoder_network(config: EncoderConfig, ctx) -> GEDINetwork:
    """Any registered encoder (e.g. ``builtin.conv`` for ``builtin.shapes``) + projector, logits / τ."""
    if ctx is None or ctx.data is None:
        raise UserError("gedi.encoder needs the stage's data to size the encoder")
    encoder = build(config.encoder, ctx, "encoder")
    if not callable(getattr(encoder, "embed", None)):
        raise UserError(f"encoder {config.encoder.name} has no embed()")
    backbone = _Embed(encoder)
    backbone.eval()
    with torch.no_grad():
        width = backbone(torch.zeros(2, *ctx.data.input_shape)).flatten(1).shape[1]
    backbone.train()
    projector = projection_mlp(width, config.projector_hidden, _clusters(config, ctx, "gedi.encoder"),
                               config.projector_bn)
    return GEDINetwork(backbone, projector, config.temperature)
