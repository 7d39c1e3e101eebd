"""Encoder + projection head (SimCLR, arXiv 2002.05709, Sec. 2.1: z = g(h), h = f(x)).

The contrastive loss sees ``forward(x) = g(f(x))``; representation metrics (kNN, linear
probe) see ``embed(x) = f(x)``, the encoder features before the head, as in SimCLR, where the
pre-head representation transfers better. The encoder is any registered model: with
``features = "embed"`` its own ``embed`` is used and its classification ``head`` (if any) is
dropped, so that no parameter goes without gradient (DDP); with ``"forward"`` its output is the
feature.
"""

from __future__ import annotations

import attrs
import torch
from latentzoo.build import build
from latentzoo.config import ModelSpec, option
from latentzoo.errors import UserError
from torch import nn

__all__ = ["ProjectionHeadConfig", "ProjectionHeadModel", "projection_mlp", "projection_head"]


def _default_encoder() -> ModelSpec:
    return ModelSpec.of("builtin.mlp")


@attrs.frozen
class ProjectionHeadConfig:
    encoder: ModelSpec = option(factory=_default_encoder, doc="the encoder f: any registered model")
    features: str = option("embed", "encoder features: its embed() (head dropped) or its forward()",
                           choices=("embed", "forward"))
    hidden: tuple[int, ...] = option((128,), "hidden widths of the projector g", gt=0)
    out_dim: int = option(64, "output dimension of g (the space the loss sees)", gt=0)
    batch_norm: bool = option(True, "batch norm after each hidden layer of g (SimCLR v2)")


def projection_mlp(in_dim: int, hidden: tuple[int, ...], out_dim: int, batch_norm: bool = True) -> nn.Sequential:
    """Linear → [BatchNorm] → ReLU per hidden width, then a Linear to ``out_dim``."""
    layers: list[nn.Module] = []
    width = in_dim
    for size in hidden:
        layers.append(nn.Linear(width, size))
        if batch_norm:
            layers.append(nn.BatchNorm1d(size))
        layers.append(nn.ReLU())
        width = size
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


class ProjectionHeadModel(nn.Module):
    """``forward(x) = projector(encoder features)``, ``embed(x) = encoder features``."""

    def __init__(self, encoder: nn.Module, projector: nn.Module, features: str = "embed"):
        super().__init__()
        self.encoder = encoder
        self.projector = projector
        self.features = features

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder.embed(x) if self.features == "embed" else self.encoder(x)
        return h.flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.embed(x))


def _feature_dim(encoder: nn.Module, features: str, input_shape) -> int:
    if features == "embed" and isinstance(getattr(encoder, "feature_dim", None), int):
        return encoder.feature_dim
    was_training = encoder.training
    encoder.eval()
    with torch.no_grad():
        probe = torch.zeros(2, *input_shape)
        out = encoder.embed(probe) if features == "embed" else encoder(probe)
    encoder.train(was_training)
    return int(out.flatten(1).shape[1])


def projection_head(config: ProjectionHeadConfig, ctx) -> ProjectionHeadModel:
    if ctx is None or ctx.data is None:
        raise UserError("ssl.projection_head needs the stage's data to size the encoder")
    encoder = build(config.encoder, ctx, "encoder")
    if config.features == "embed":
        if not callable(getattr(encoder, "embed", None)):
            raise UserError(f"encoder {config.encoder.name} has no embed(); set features = \"forward\"")
        if isinstance(getattr(encoder, "head", None), nn.Module):
            encoder.head = nn.Identity()  # unused by embed(): drop it (no gradient-less parameters)
    in_dim = _feature_dim(encoder, config.features, ctx.data.input_shape)
    return ProjectionHeadModel(encoder, projection_mlp(in_dim, config.hidden, config.out_dim,
                                                       config.batch_norm), config.features)
