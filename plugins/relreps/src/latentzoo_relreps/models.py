"""Relative representations and zero-shot stitching.

Moschella, Maiorca, Fumero, Norelli, Locatello, Rodolà: "Relative representations enable
zero-shot latent space communication", ICLR 2023, arXiv 2209.15430. Official code:
github.com/lucmos/relreps (``src/rae/modules/attention.py:RelativeAttention``).

A sample x is encoded to its absolute latent e_x = E(x) ∈ ℝ^d. Given anchors a_1..a_K (training
inputs, embedded by the *same* encoder, e_{a_k} = E(a_k)), its relative representation is
(Eq. 1, with sim = cosine similarity, Sec. 3.1)

    r_x = ( sim(e_x, e_{a_1}), ..., sim(e_x, e_{a_K}) ) ∈ ℝ^K,
    sim(u, v) = u·v / (‖u‖ ‖v‖),

invariant to any angle-preserving map of the latent space (rotation, reflection, positive
rescaling; Sec. 3.1, Eq. 2). A head (classifier or decoder) fed with r_x can therefore be
reused on another encoder's relative space without training: *zero-shot stitching* (Sec. 5),

    stitched(i, j)(x) = head_j( LN_j( r^{(i)}_x ) ),  r^{(i)} from encoder i and its own anchor latents.

Conventions of the official code that we keep:

- ``cosine`` (``normalization_mode='l2'``): ``F.normalize`` (eps 1e-12 on the norm) of x and the
  anchors, then a plain inner product. ``inner`` (``normalization_mode='none'``): e_x·e_aᵀ/√d,
  not invariant (ablation). ``basis_change``: the least-squares coordinates of e_x in the anchor
  latents, ``lstsq(E_Aᵀ, e_xᵀ)ᵀ`` (optional mode of the repo).
- Anchors are embedded under ``torch.no_grad()`` at every forward pass by the current encoder.
- ``output_normalization_mode='layernorm'``: a ``LayerNorm(K)`` applied to r before the head; it
  belongs to the *receiving* module, so stitching uses the head's own LayerNorm.
"""

from __future__ import annotations

import math

import attrs
import torch
import torch.nn.functional as F
from latentzoo.config import option
from latentzoo.errors import UserError
from torch import nn

from latentzoo_relreps.data import ANCHOR_MODES, select_anchors

__all__ = [
    "SIMILARITIES", "relative_projection", "RelativeProjection", "MLPEncoder", "Head",
    "RelRepsModel", "Stitched", "MLPEncoderConfig", "ModelConfig", "mlp_encoder", "classifier",
    "autoencoder",
]

SIMILARITIES = ("cosine", "inner", "basis_change")


# ---------------------------------------------------------------------------------------------
# The relative projection (Eq. 1)
# ---------------------------------------------------------------------------------------------


def relative_projection(x: torch.Tensor, anchors: torch.Tensor, similarity: str = "cosine") -> torch.Tensor:
    """r = sim(x, anchors) ∈ ℝ^{N×K} for latents x ∈ ℝ^{N×d} and anchor latents ∈ ℝ^{K×d}.

    Args:
        x: absolute latents of the batch, shape (N, d).
        anchors: absolute latents of the anchors, shape (K, d), from the same encoder as ``x``.
        similarity: ``cosine`` (Eq. 1, the paper's choice), ``inner`` (x·aᵀ/√d, not invariant)
            or ``basis_change`` (least-squares coordinates of x in the anchors).
    """
    if x.shape[-1] != anchors.shape[-1]:
        raise ValueError(f"batch latents have dimension {x.shape[-1]} but anchor latents "
                         f"{anchors.shape[-1]}; both must come from the same encoder")
    if similarity == "cosine":
        return F.normalize(x, p=2, dim=-1) @ F.normalize(anchors, p=2, dim=-1).T
    if similarity == "inner":
        return x @ anchors.T / math.sqrt(x.shape[-1])
    if similarity == "basis_change":
        return torch.linalg.lstsq(anchors.T, x.T).solution.T
    raise ValueError(f"similarity must be one of {', '.join(SIMILARITIES)}, found {similarity!r}")


class RelativeProjection(nn.Module):
    """``forward(x_latents, anchor_latents) = relative_projection(...)``; no parameters."""

    def __init__(self, similarity: str = "cosine"):
        super().__init__()
        self.similarity = similarity

    def forward(self, x: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
        return relative_projection(x, anchors, self.similarity)

    def extra_repr(self) -> str:
        return f"similarity={self.similarity}"


# ---------------------------------------------------------------------------------------------
# Encoder and heads
# ---------------------------------------------------------------------------------------------


class MLPEncoder(nn.Module):
    """x (flattened) -> Linear -> GELU -> Linear -> e_x ∈ ℝ^d; the last layer is linear
    (repo AE: ``remove_encoder_last_activation: true``), so the latent space has no
    symmetry-breaking non-linearity."""

    def __init__(self, in_dim: int, hidden: int = 128, latent_dim: int = 32):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, latent_dim))
        self.latent_dim = latent_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self(x)


class Head(nn.Module):
    """The receiving module: LayerNorm(in) -> Linear -> GELU -> Linear (-> sigmoid for pixels).

    The LayerNorm is the repo's ``output_normalization_mode='layernorm'`` (eps 1e-5, affine).
    """

    def __init__(self, in_dim: int, hidden: int, out_dim: int, norm: bool = True,
                 sigmoid: bool = False):
        super().__init__()
        self.norm = nn.LayerNorm(in_dim) if norm else nn.Identity()
        self.mlp = nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, out_dim))
        self.sigmoid = sigmoid

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        out = self.mlp(self.norm(r))
        return torch.sigmoid(out) if self.sigmoid else out


# ---------------------------------------------------------------------------------------------
# The model: encoder -> (relative projection) -> head
# ---------------------------------------------------------------------------------------------


class RelRepsModel(nn.Module):
    """Encoder, optional relative projection against fixed anchor inputs, and a head.

    ``space='relative'``: forward(x) = head(LN(r_x)) with r_x from Eq. 1;
    ``space='absolute'`` (baseline): forward(x) = head(LN(e_x)). Both keep the anchor *inputs* as
    a buffer, so the relative space of an absolute model can be measured too.

    Methods: ``encode`` (e_x), ``anchor_latents`` (E(anchors), no gradient), ``relative`` (r_x),
    ``embed`` (what the head receives), ``forward``.
    """

    def __init__(self, encoder: MLPEncoder, head: Head, anchors: torch.Tensor, space: str = "relative",
                 similarity: str = "cosine", task: str = "classification",
                 output_shape: tuple[int, ...] | None = None):
        super().__init__()
        self.encoder = encoder
        self.projection = RelativeProjection(similarity) if space == "relative" else None
        self.head = head
        self.register_buffer("anchors", anchors.clone())
        self.space = space
        self.similarity = similarity
        self.task = task
        self.output_shape = tuple(output_shape) if output_shape else None

    @property
    def num_anchors(self) -> int:
        return len(self.anchors)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def anchor_latents(self) -> torch.Tensor:
        # the repo embeds the anchors with the same encoder under no_grad (RelativeAttention use)
        with torch.no_grad():
            return self.encoder(self.anchors)

    def relative(self, x: torch.Tensor, similarity: str | None = None) -> torch.Tensor:
        """r_x of Eq. 1 against this model's own anchor latents."""
        if similarity is None:
            similarity = self.similarity if self.projection is not None else "cosine"
        return relative_projection(self.encode(x), self.anchor_latents(), similarity)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The representation the head receives: r_x (relative) or e_x (absolute)."""
        latents = self.encode(x)
        if self.projection is None:
            return latents
        return self.projection(latents, self.anchor_latents())

    def decode(self, representation: torch.Tensor) -> torch.Tensor:
        out = self.head(representation)
        if self.output_shape is not None:
            out = out.reshape(len(out), *self.output_shape)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.embed(x))


class Stitched(nn.Module):
    """Zero-shot stitching (Sec. 5): encoder (and anchor latents) of ``source``, LayerNorm and
    head of ``target``: forward(x) = target.head(LN_target(source.embed(x))).

    The anchors must be parallel: both models hold the same anchor inputs; ``source`` embeds
    them with its own encoder (never reuse another run's anchor latents).
    """

    def __init__(self, source: RelRepsModel, target: RelRepsModel):
        super().__init__()
        for role, model in (("encoder", source), ("head", target)):
            if not isinstance(model, RelRepsModel):
                raise UserError(f"stitching needs relreps models; the {role} model is a "
                                f"{type(model).__name__} (train it with relreps.classifier or "
                                "relreps.autoencoder)")
        if source.space != target.space:
            raise UserError(f"cannot stitch a {source.space} encoder to a {target.space} head")
        if source.space == "relative" and (source.anchors.shape != target.anchors.shape
                                           or not torch.equal(source.anchors, target.anchors)):
            raise UserError("stitching needs parallel anchors: the two models were built with "
                            "different anchor inputs (use the same data, num_anchors, anchor_mode "
                            "and anchor_seed)")
        width = source.num_anchors if source.space == "relative" else source.encoder.latent_dim
        expected = target.head.mlp[0].in_features
        if width != expected:
            raise UserError(f"cannot stitch: the encoder gives {width}-dimensional {source.space} "
                            f"representations but the head expects {expected}")
        self.source = source
        self.target = target

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.target.decode(self.source.embed(x))


# ---------------------------------------------------------------------------------------------
# Configs and factories
# ---------------------------------------------------------------------------------------------


def _input_dim(ctx) -> tuple[int, tuple[int, ...]]:
    if ctx is None or ctx.data is None:
        raise UserError("a relreps model needs the data's input shape, but the stage has no data")
    shape = tuple(ctx.data.input_shape)
    return math.prod(shape), shape


@attrs.frozen
class MLPEncoderConfig:
    hidden: int = option(128, "hidden width of the encoder", gt=0)
    latent_dim: int = option(32, "latent dimension d", gt=0)


def mlp_encoder(config: MLPEncoderConfig, ctx) -> MLPEncoder:
    return MLPEncoder(_input_dim(ctx)[0], config.hidden, config.latent_dim)


@attrs.frozen
class ModelConfig:
    space: str = option("relative", "what the head receives: r_x (Eq. 1) or the absolute e_x (baseline)",
                        choices=("relative", "absolute"))
    similarity: str = option("cosine", "sim of Eq. 1 (cosine: the paper's; inner: x·a/√d ablation; "
                             "basis_change: least-squares coordinates)", choices=SIMILARITIES)
    hidden: int = option(128, "hidden width of the encoder", gt=0)
    latent_dim: int = option(32, "latent dimension d", gt=0)
    head_hidden: int = option(128, "hidden width of the head", gt=0)
    layernorm: bool = option(True, "LayerNorm on the head's input (repo output_normalization_mode='layernorm')")
    num_anchors: int = option(0, "0: the data's anchors (relreps.digits_anchored); >0: draw this many "
                              "from the training split with anchor_mode and anchor_seed", ge=0)
    anchor_mode: str = option("uniform", "anchor choice when num_anchors > 0", choices=ANCHOR_MODES)
    anchor_seed: int = option(0, "seed of the anchor choice when num_anchors > 0")


def _anchors(config: ModelConfig, ctx) -> torch.Tensor:
    if config.num_anchors == 0:
        anchors = (ctx.data.extras or {}).get("anchors") if ctx.data is not None else None
        if anchors is None:
            raise UserError("num_anchors = 0 takes the anchors from the data, but this data has none; "
                            "use data relreps.digits_anchored or set model.num_anchors > 0")
        return torch.as_tensor(anchors)
    if ctx.splits is None:
        raise UserError("num_anchors > 0 draws anchors from the training split, but the stage has no data")
    train = ctx.splits.split("train")
    index = select_anchors(train.get("y"), len(train["x"]), config.num_anchors, config.anchor_mode,
                           config.anchor_seed)
    return train["x"][index].clone()


def _build(config: ModelConfig, ctx, task: str) -> RelRepsModel:
    in_dim, shape = _input_dim(ctx)
    anchors = _anchors(config, ctx)
    if tuple(anchors.shape[1:]) != shape:
        raise UserError(f"anchors have shape {tuple(anchors.shape[1:])} but the data's inputs {shape}")
    if config.similarity != "cosine" and config.space == "absolute":
        raise UserError(f"similarity = {config.similarity!r} applies to space = 'relative' only")
    encoder = MLPEncoder(in_dim, config.hidden, config.latent_dim)
    head_in = len(anchors) if config.space == "relative" else config.latent_dim
    if task == "classification":
        classes = getattr(ctx.data, "num_classes", None)
        if not classes:
            raise UserError("relreps.classifier needs data with classes (num_classes)")
        head = Head(head_in, config.head_hidden, classes, norm=config.layernorm)
        return RelRepsModel(encoder, head, anchors, config.space, config.similarity, task)
    head = Head(head_in, config.head_hidden, in_dim, norm=config.layernorm, sigmoid=True)
    return RelRepsModel(encoder, head, anchors, config.space, config.similarity, task, output_shape=shape)


def classifier(config: ModelConfig, ctx) -> RelRepsModel:
    """Encoder -> r_x (or e_x) -> LayerNorm -> MLP -> class logits."""
    return _build(config, ctx, "classification")


def autoencoder(config: ModelConfig, ctx) -> RelRepsModel:
    """Encoder -> r_x (or e_x) -> LayerNorm -> MLP decoder -> sigmoid pixels (train with builtin.mse, target='x')."""
    return _build(config, ctx, "reconstruction")
