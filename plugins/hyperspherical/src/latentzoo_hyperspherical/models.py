"""The hyperspherical classifier of arXiv 2102.03243 and its baselines' networks.

Hyperspherical classifier (Sec. 3; the "normalized softmax" of Zhai & Wu 2018, arXiv 1811.12649):

    z   = f(x)                                     encoder: MLP, linear last layer
    z̃   = |s| · z / sqrt(max(‖z‖², 1e-12))         ModuleNormalization (Keras l2_normalize · s)
    ℓ_c = z̃ᵀ w_c = s · cos(z, w_c),  ‖w_c‖ = 1, b = 0   UnitNormLinear (softmax in the loss)

The official Keras code (pyopenset ``functions.py``) keeps ‖w_c‖ = 1 with the kernel constraint
``min_max_norm(1, 1)``, applied *after* every optimiser update: w_c ← w_c / (1e-7 + ‖w_c‖), and
the bias at 0 with ``min_max_norm(0, 0)`` (here: no bias at all). ``weight_mode = "project"``
does the same (the loss's ``after_step`` calls :meth:`HypersphereClassifier.project_weights`);
``"reparam"`` normalises inside the forward pass instead: same forward, different gradients.

Baseline networks share the encoder: :class:`PlainSoftmaxClassifier` (an unconstrained linear
head with bias) and :class:`EmbeddingNet` (no head; triplet and prototypical losses).

Initialisation follows Keras' defaults (Glorot-uniform kernels, zero biases) for every layer
of every model, so that all methods start from the same kind of network.
"""

from __future__ import annotations

import copy
import math

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError
from torch import nn

from latentzoo_hyperspherical.novel import append_rows, class_weight

__all__ = ["Encoder", "ModuleNormalization", "UnitNormLinear", "HypersphereClassifier",
           "PlainSoftmaxClassifier", "EmbeddingNet", "hypersphere_classifier", "softmax_plain",
           "embedding_net", "WEIGHT_EPS", "SQUARED_NORM_FLOOR"]

WEIGHT_EPS = 1e-7  # Keras constraints: w / (epsilon() + ‖w‖)
SQUARED_NORM_FLOOR = 1e-12  # Keras l2_normalize: x · rsqrt(max(Σx², 1e-12))

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}


def _keras_init(layer: nn.Linear) -> nn.Linear:
    nn.init.xavier_uniform_(layer.weight)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return layer


class Encoder(nn.Sequential):
    """MLP ``in_dim → hidden… (activation) → embed_dim`` with a *linear* last layer.

    The tutorial's embedding layer is a linear Dense; a ReLU before the normalisation would
    confine embeddings to the positive orthant (spec, Pitfalls).
    """

    def __init__(self, in_dim: int, hidden: tuple[int, ...], embed_dim: int, activation: str = "relu"):
        layers: list[nn.Module] = []
        width = in_dim
        for size in hidden:
            layers += [_keras_init(nn.Linear(width, size)), ACTIVATIONS[activation]()]
            width = size
        layers.append(_keras_init(nn.Linear(width, embed_dim)))
        super().__init__(*layers)


class ModuleNormalization(nn.Module):
    """z̃ = |s| · z / sqrt(max(‖z‖², 1e-12)) (official ``ModuleNormalization``).

    ``s`` is a fixed float, not trained. Like Keras' ``l2_normalize`` the floor is on the
    *squared* norm: a vector with ‖z‖ < 1e-6 is not mapped to the sphere (‖z‖ = 1e-8 and s = 10
    give norm 0.1; a zero vector stays zero), unlike ``F.normalize``.
    """

    def __init__(self, scale: float):
        super().__init__()
        self.scale = float(scale)  # an integer s raises in TF; here it is cast

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        squared = z.pow(2).sum(-1, keepdim=True).clamp_min(SQUARED_NORM_FLOOR)
        return abs(self.scale) * z * torch.rsqrt(squared)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class UnitNormLinear(nn.Module):
    """Bias-free linear layer whose class vectors (rows of W ∈ R^{C×d}) have unit norm.

    PyTorch stores W as (out, in): each *row* is one class, so norms are taken over dim 1
    (Keras' kernel is (in, out) and ``min_max_norm(axis=0)`` normalises its columns).

    Args:
        in_dim: embedding dimension d.
        num_classes: C.
        mode: ``"project"`` (rows renormalised by :meth:`project_` after each update; the
            forward uses W as stored) or ``"reparam"`` (rows normalised in every forward).
        project_at_init: project once at construction (``False`` reproduces Keras, whose first
            forward pass uses the raw Glorot kernel).
    """

    def __init__(self, in_dim: int, num_classes: int, mode: str = "project", project_at_init: bool = True):
        super().__init__()
        if mode not in ("project", "reparam"):
            raise UserError(f"weight mode must be 'project' or 'reparam', found {mode!r}")
        self.mode = mode
        self.weight = nn.Parameter(torch.empty(num_classes, in_dim))
        nn.init.xavier_uniform_(self.weight)
        if project_at_init:
            self.project_()

    @staticmethod
    def unit_rows(weight: torch.Tensor) -> torch.Tensor:
        """w_c / (1e-7 + ‖w_c‖) for every row (Keras ``min_max_norm(1, 1)`` with rate 1)."""
        return weight / (WEIGHT_EPS + weight.norm(dim=1, keepdim=True))

    @torch.no_grad()
    def project_(self) -> None:
        """In-place w_c ← w_c / (1e-7 + ‖w_c‖): the Keras kernel constraint after an update."""
        self.weight.copy_(self.unit_rows(self.weight))

    def effective_weight(self) -> torch.Tensor:
        """The class vectors the forward pass uses."""
        return self.unit_rows(self.weight) if self.mode == "reparam" else self.weight

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z @ self.effective_weight().T

    def extra_repr(self) -> str:
        return f"in_dim={self.weight.shape[1]}, num_classes={self.weight.shape[0]}, mode={self.mode}"


class HypersphereClassifier(nn.Module):
    """Encoder → ModuleNormalization(s) → UnitNormLinear; ``forward`` gives ℓ_c = s·cos(z, w_c).

    ``embed(x)`` is z̃ (norm |s|), the representation the novel-class weights are averaged from.
    """

    def __init__(self, in_dim: int, hidden: tuple[int, ...], embed_dim: int, num_classes: int,
                 scale: float = 10.0, weight_mode: str = "project", project_at_init: bool = True,
                 activation: str = "relu"):
        super().__init__()
        self.encoder = Encoder(in_dim, hidden, embed_dim, activation)
        self.normalization = ModuleNormalization(scale)
        self.classifier = UnitNormLinear(embed_dim, num_classes, weight_mode, project_at_init)

    @property
    def scale(self) -> float:
        return self.normalization.scale

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.normalization(self.encoder(x.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))

    @torch.no_grad()
    def project_weights(self) -> None:
        """Apply the weight constraint (``project`` mode only; ``reparam`` needs nothing)."""
        if self.classifier.mode == "project":
            self.classifier.project_()

    @torch.no_grad()
    def add_class(self, x: torch.Tensor) -> HypersphereClassifier:
        """Official ``AddNewClass``: a copy with one more class, built from examples ``x``.

        The new row is m/‖m‖ with m the mean of z̃ = embed(x) (taken after the scaling layer);
        the first C rows are copied unchanged.
        """
        was_training = self.training
        self.eval()
        row = class_weight(self.embed(x))
        self.train(was_training)
        model = copy.deepcopy(self)
        model.classifier.weight = nn.Parameter(append_rows(self.classifier.weight, row[None]))
        return model

    def joint_head(self, novel_weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(W, b) of the extended (C + C')-way classifier applied to ``embed`` features.

        ``novel_weights`` are unit rows (``novel.class_weight`` of z̃); base rows as used in the
        forward pass; b = 0.
        """
        weight = torch.cat([self.classifier.effective_weight().detach().float().cpu(),
                            novel_weights.float().cpu()])
        return weight, torch.zeros(len(weight))


class PlainSoftmaxClassifier(nn.Module):
    """Baseline: the same encoder with an unconstrained linear head (weights and bias)."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], embed_dim: int, num_classes: int,
                 activation: str = "relu"):
        super().__init__()
        self.encoder = Encoder(in_dim, hidden, embed_dim, activation)
        self.head = _keras_init(nn.Linear(embed_dim, num_classes))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))

    def joint_head(self, novel_weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Novel rows = unit prototypes rescaled to the mean base-weight norm, bias 0 (spec)."""
        weight = self.head.weight.detach().float().cpu()
        bias = self.head.bias.detach().float().cpu()
        novel = novel_weights.float().cpu() * weight.norm(dim=1).mean()
        return torch.cat([weight, novel]), torch.cat([bias, torch.zeros(len(novel))])


class EmbeddingNet(nn.Module):
    """Baseline: the encoder alone; ``forward = embed = f(x)`` (triplet, prototypical losses)."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], embed_dim: int, activation: str = "relu"):
        super().__init__()
        self.encoder = Encoder(in_dim, hidden, embed_dim, activation)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x)


# ---------------------------------------------------------------------------------------------
# Configs and factories
# ---------------------------------------------------------------------------------------------


def _in_dim(ctx, name: str) -> int:
    if ctx is None or ctx.data is None:
        raise UserError(f"{name} needs the data's input shape, but the stage has no data")
    return math.prod(ctx.data.input_shape)


def _classes(out_dim: int, ctx, name: str) -> int:
    if out_dim:
        return out_dim
    classes = getattr(getattr(ctx, "data", None), "num_classes", None)
    if not classes:
        raise UserError(f"{name}: out_dim = 0 means the data's number of (base) classes, but the "
                        "data has none; set out_dim")
    return classes


@attrs.frozen
class EncoderConfig:
    hidden: tuple[int, ...] = option((128,), "hidden widths of the encoder MLP", gt=0)
    embed_dim: int = option(32, "embedding dimension d (linear last layer)", gt=0)
    activation: str = option("relu", "hidden non-linearity", choices=tuple(ACTIVATIONS))


@attrs.frozen
class HypersphereConfig(EncoderConfig):
    scale: float = option(10.0, "fixed radius s of the hypersphere (logits = s·cos)", gt=0)
    weight_mode: str = option("project", "unit-norm constraint: 'project' after each update (Keras, "
                              "faithful) or 'reparam' (normalise in forward)", choices=("project", "reparam"))
    project_at_init: bool = option(True, "project W once at construction (false: exactly Keras)")
    out_dim: int = option(0, "classes C (0: the data's base classes)", ge=0)


@attrs.frozen
class PlainSoftmaxConfig(EncoderConfig):
    out_dim: int = option(0, "classes C (0: the data's base classes)", ge=0)


def hypersphere_classifier(config: HypersphereConfig, ctx) -> HypersphereClassifier:
    return HypersphereClassifier(_in_dim(ctx, "hyperspherical.hypersphere_classifier"), config.hidden,
                                 config.embed_dim,
                                 _classes(config.out_dim, ctx, "hyperspherical.hypersphere_classifier"),
                                 config.scale, config.weight_mode, config.project_at_init,
                                 config.activation)


def softmax_plain(config: PlainSoftmaxConfig, ctx) -> PlainSoftmaxClassifier:
    return PlainSoftmaxClassifier(_in_dim(ctx, "hyperspherical.softmax_plain"), config.hidden,
                                  config.embed_dim,
                                  _classes(config.out_dim, ctx, "hyperspherical.softmax_plain"),
                                  config.activation)


def embedding_net(config: EncoderConfig, ctx) -> EmbeddingNet:
    return EmbeddingNet(_in_dim(ctx, "hyperspherical.embedding_net"), config.hidden, config.embed_dim,
                        config.activation)

