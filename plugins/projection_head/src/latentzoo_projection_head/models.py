"""Models of "Investigating the Benefits of Projection Head" (Xue et al., arXiv 2403.11391).

- :class:`LinearStack`: the deep linear network of the paper's analysis (§3), f(x) = W_L ⋯ W_2 W_1 x
  with no biases. W_1 is the encoder (the pre-projection representation h = W_1 x, ``embed``),
  W_2..W_L the projection head (``forward`` = f(x) = z). Small Gaussian init N(0, s²) keeps the
  layers near-balanced (W_1 W_1ᵀ ≈ W_2ᵀ W_2), which the layer-wise progressive feature weighting
  needs under λ = 0.
- :func:`fixed_reweight_head`: the paper's fixed, non-learned head (reconstructed, see the README):
  z = diag(1, κ⁻¹, κ⁻², …, κ^{−(p−1)}) h on top of any registered encoder. κ = 1 is "no head".
  The encoder + head wrapper is ``latentzoo_ssl.models.ProjectionHeadModel`` (h = embed, z = forward).
"""

from __future__ import annotations

import attrs
import torch
from torch import nn

from latentzoo.build import build
from latentzoo.config import ModelSpec, option
from latentzoo.errors import UserError
from latentzoo_ssl.models import ProjectionHeadModel

__all__ = ["LinearStackConfig", "LinearStack", "linear_stack", "FixedReweight",
           "FixedReweightHeadConfig", "fixed_reweight_head"]


# ---------------------------------------------------------------------------------------------
# deep linear network
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class LinearStackConfig:
    width: int = option(16, "p: width of the encoder output and of every head layer", gt=0)
    head_layers: int = option(1, "learned head layers W_2..W_L (0: no head, f = W_1)", ge=0, le=4)
    init_std: float = option(0.03, "s: init N(0, s²) (0.03 near-balanced for λ = 0; spec: 0.1 with λ > 0)", gt=0)


class LinearStack(nn.Module):
    """f(x) = W_L ⋯ W_1 x; ``embed(x) = W_1 x`` (pre-projection), ``forward(x)`` = f(x)."""

    def __init__(self, in_dim: int, width: int, head_layers: int, init_std: float):
        super().__init__()
        self.encoder = nn.Linear(in_dim, width, bias=False)
        self.head = nn.ModuleList(nn.Linear(width, width, bias=False) for _ in range(head_layers))
        for layer in self.layers():
            nn.init.normal_(layer.weight, 0.0, init_std)

    def layers(self) -> list[nn.Linear]:
        return [self.encoder, *self.head]

    def layer_weights(self) -> list[torch.Tensor]:
        """[W_1, W_2, …, W_L], W_1: p x d, W_ℓ: p x p."""
        return [layer.weight for layer in self.layers()]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(x)
        for layer in self.head:
            h = layer(h)
        return h


def linear_stack(config: LinearStackConfig, ctx) -> LinearStack:
    shape = tuple(ctx.data.input_shape) if ctx is not None and ctx.data is not None else None
    if shape is None or len(shape) != 1:
        raise UserError(f"projection_head.linear_stack needs flat vector data (input shape (d,)), "
                        f"found {shape}")
    return LinearStack(shape[0], config.width, config.head_layers, config.init_std)


# ---------------------------------------------------------------------------------------------
# fixed reweighting head
# ---------------------------------------------------------------------------------------------


class FixedReweight(nn.Module):
    """z = diag(κ⁰, κ⁻¹, …, κ^{−(p−1)}) h; a buffer, not a parameter (never trained)."""

    def __init__(self, dim: int, kappa: float):
        super().__init__()
        self.kappa = kappa
        self.register_buffer("scale", kappa ** -torch.arange(dim, dtype=torch.float32))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h * self.scale

    def extra_repr(self) -> str:
        return f"dim={len(self.scale)}, kappa={self.kappa}"


def _default_encoder() -> ModelSpec:
    return ModelSpec.of("builtin.mlp", hidden=(256, 128))


@attrs.frozen
class FixedReweightHeadConfig:
    encoder: ModelSpec = option(factory=_default_encoder, doc="the encoder: any registered model")
    features: str = option("embed", "encoder features: its embed() (classifier head dropped) or forward()",
                           choices=("embed", "forward"))
    kappa: float = option(1.05, "κ >= 1 of diag(1, κ⁻¹, κ⁻², …); 1 = no head (SimCLR 1.05, "
                          "supervised 1.2, SupCon 1.5 in an independent reproduction)", ge=1)


def fixed_reweight_head(config: FixedReweightHeadConfig, ctx) -> ProjectionHeadModel:
    if ctx is None or ctx.data is None:
        raise UserError("projection_head.fixed_reweight_head needs the stage's data to size the encoder")
    encoder = build(config.encoder, ctx, "encoder")
    if config.features == "embed":
        if not callable(getattr(encoder, "embed", None)):
            raise UserError(f"encoder {config.encoder.name} has no embed(); set features = \"forward\"")
        if isinstance(getattr(encoder, "head", None), nn.Module):
            encoder.head = nn.Identity()  # unused by embed(): no parameter without gradient (DDP)
    was_training = encoder.training
    encoder.eval()
    with torch.no_grad():
        probe = torch.zeros(2, *ctx.data.input_shape)
        dim = (encoder.embed(probe) if config.features == "embed" else encoder(probe)).flatten(1).shape[1]
    encoder.train(was_training)
    return ProjectionHeadModel(encoder, FixedReweight(int(dim), config.kappa), config.features)
