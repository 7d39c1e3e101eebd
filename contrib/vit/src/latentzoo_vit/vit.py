"""A small Vision Transformer for small images (ViT, arXiv 2010.11929; MAE details, arXiv 2111.06377).

Sized for latentzoo's CPU data: 1x8x8 digits with patch 2 (16 tokens), 1x32x32 shapes with
patch 4 or 8 (64 or 16 tokens). Blocks are pre-norm (ViT Eq. 2-3):

    z'_l = MSA(LN(z_{l-1})) + z_{l-1},        z_l = MLP(LN(z'_l)) + z'_l

Tokens are patches flattened as (row, col, channel), channel fastest (MAE's ``patchify``), then
a linear patch embedding (ViT Eq. 1). Position embeddings are learned, or the fixed 2-D sin-cos
table of MAE (``util/pos_embed.py``), whose first half encodes the column and second half the
row of a patch, with an all-zero row for the class token. ``embed(x)`` is the mean of the final
patch tokens or the class token. ``forward_features(x, ids_keep)`` runs the encoder on a subset
of the patches (MAE's encoder on visible patches only, see :mod:`latentzoo_vit.masking`).
Initialisation follows MAE: xavier-uniform linears (and patch embedding), zero biases,
class token N(0, 0.02), learned positions N(0, 0.02).
"""

from __future__ import annotations

import math

import attrs
import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from einops.layers.torch import Rearrange
from torch import nn

from latentzoo.config import option
from latentzoo.errors import UserError

__all__ = ["Attention", "Block", "FeedForward", "Transformer", "ViT", "ViTConfig", "check_geometry",
           "gather_tokens", "image_shape", "init_weights", "patchify", "sincos_pos_embed_1d",
           "sincos_pos_embed_2d", "unpatchify", "vit"]


# ---------------------------------------------------------------------------------------------
# Patches and positions
# ---------------------------------------------------------------------------------------------


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """``b c (h p1) (w p2) -> b (h w) (p1 p2 c)``: row-major patches, channel fastest (MAE)."""
    return rearrange(images, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=patch_size, p2=patch_size)


def unpatchify(patches: torch.Tensor, patch_size: int, height: int, channels: int) -> torch.Tensor:
    """Inverse of :func:`patchify` for images ``height`` patches tall."""
    return rearrange(patches, "b (h w) (p1 p2 c) -> b c (h p1) (w p2)", h=height, p1=patch_size,
                     p2=patch_size, c=channels)


def gather_tokens(tokens: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """``tokens[b, ids[b, n]]`` for ``tokens`` (b, l, d) and ``ids`` (b, n): the tokens named by ids."""
    return torch.gather(tokens, 1, repeat(ids, "b n -> b n d", d=tokens.shape[-1]))


def sincos_pos_embed_1d(dim: int, positions: torch.Tensor) -> torch.Tensor:
    """MAE's 1-D table: ``[sin(p ω_k), cos(p ω_k)]`` with ``ω_k = 10000^(-k / (dim/2))``, k < dim/2."""
    if dim % 2:
        raise ValueError(f"a sin-cos position embedding needs an even dimension, found {dim}")
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2))
    angles = torch.einsum("n,k->nk", positions.double().flatten(), omega)
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def sincos_pos_embed_2d(dim: int, height: int, width: int, cls_token: bool = False) -> torch.Tensor:
    """MAE's 2-D table (``get_2d_sincos_pos_embed``): (h w) rows, ``[col table, row table]``.

    MAE builds ``meshgrid(grid_w, grid_h)`` and encodes ``grid[0]`` (the column) with the first
    ``dim / 2`` features; this order is kept so weights and numbers match MAE's. With
    ``cls_token`` a zero row is prepended. Returned in float32, shape ``(h*w [+1], dim)``.
    """
    if dim % 4:
        raise ValueError(f"a 2-D sin-cos position embedding needs a dimension divisible by 4, found {dim}")
    rows = repeat(torch.arange(height), "h -> (h w)", w=width)
    cols = repeat(torch.arange(width), "w -> (h w)", h=height)
    table = torch.cat([sincos_pos_embed_1d(dim // 2, cols), sincos_pos_embed_1d(dim // 2, rows)], dim=1)
    if cls_token:
        table = torch.cat([torch.zeros(1, dim, dtype=table.dtype), table])
    return table.float()


# ---------------------------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------------------------


class FeedForward(nn.Module):
    """Linear -> GELU -> Linear, hidden width ``mlp_ratio * dim``."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Attention(nn.Module):
    """Multi-head self-attention, softmax(QKᵀ/√d_head) V, one fused qkv projection (with bias)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.to_qkv = nn.Linear(dim, dim * 3)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = rearrange(self.to_qkv(x), "b n (qkv h d) -> qkv b h n d", qkv=3, h=self.heads)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.to_out(rearrange(out, "b h n d -> b n (h d)"))


class Block(nn.Module):
    """Pre-norm transformer block (ViT Eq. 2-3)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, eps: float = 1e-6):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = FeedForward(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class Transformer(nn.Module):
    """``depth`` pre-norm blocks and a final LayerNorm."""

    def __init__(self, dim: int, depth: int, heads: int, mlp_ratio: float = 4.0, eps: float = 1e-6):
        super().__init__()
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio, eps) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


def init_weights(module: nn.Module) -> None:
    """MAE's ``_init_weights``: xavier-uniform linears with zero bias, LayerNorm (1, 0)."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


class ViT(nn.Module):
    """Patch embedding, class token, positions, pre-norm encoder, pooled features, optional head.

    Args:
        image_size: (height, width) in pixels, multiples of ``patch_size``.
        patch_size: side of a square patch.
        channels: image channels C.
        dim, depth, heads, mlp_ratio: width, blocks, attention heads, MLP expansion.
        pos_embed: ``"sincos"`` (fixed, MAE) or ``"learned"``.
        pool: ``"mean"`` (of the patch tokens) or ``"cls"`` (the class token) for ``embed``.
        num_classes: size of the linear head on ``embed``; 0 for none (``forward = embed``).
        eps: LayerNorm epsilon (1e-6 as in MAE/timm ViTs).
    """

    def __init__(self, *, image_size: tuple[int, int], patch_size: int, channels: int, dim: int = 64,
                 depth: int = 4, heads: int = 4, mlp_ratio: float = 4.0, pos_embed: str = "sincos",
                 pool: str = "mean", num_classes: int = 0, eps: float = 1e-6):
        super().__init__()
        height, width = image_size
        if height % patch_size or width % patch_size:
            raise ValueError(f"image size {height}x{width} is not divisible by patch_size {patch_size}")
        if pool not in ("mean", "cls"):
            raise ValueError(f"pool must be 'mean' or 'cls', found {pool!r}")
        self.patch_size, self.channels, self.pool = patch_size, channels, pool
        self.grid = (height // patch_size, width // patch_size)
        self.num_patches = self.grid[0] * self.grid[1]
        self.patch_dim = patch_size * patch_size * channels
        self.dim = dim

        self.to_patches = Rearrange("b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=patch_size, p2=patch_size)
        self.patch_embed = nn.Linear(self.patch_dim, dim)  # ViT Eq. 1: x_p E
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        if pos_embed == "sincos":
            self.register_buffer("pos_embed", sincos_pos_embed_2d(dim, *self.grid, cls_token=True)[None])
        elif pos_embed == "learned":
            self.pos_embed = nn.Parameter(torch.zeros(1, self.num_patches + 1, dim))
        else:
            raise ValueError(f"pos_embed must be 'sincos' or 'learned', found {pos_embed!r}")
        self.transformer = Transformer(dim, depth, heads, mlp_ratio, eps)
        self.head = nn.Linear(dim, num_classes) if num_classes else nn.Identity()
        self.feature_dim = dim

        self.apply(init_weights)
        nn.init.normal_(self.cls_token, std=0.02)
        if isinstance(self.pos_embed, nn.Parameter):
            nn.init.normal_(self.pos_embed, std=0.02)

    def patch_tokens(self, images: torch.Tensor) -> torch.Tensor:
        """Embedded patches plus their positions, without the class token: (b, l, d)."""
        return self.patch_embed(self.to_patches(images)) + self.pos_embed[:, 1:]

    def forward_features(self, images: torch.Tensor, ids_keep: torch.Tensor | None = None) -> torch.Tensor:
        """Encoder output ``[cls, patches...]`` (b, 1 + n, d); with ``ids_keep`` (b, n) only those patches."""
        tokens = self.patch_tokens(images)
        if ids_keep is not None:
            tokens = gather_tokens(tokens, ids_keep)
        cls = repeat(self.cls_token + self.pos_embed[:, :1], "1 1 d -> b 1 d", b=tokens.shape[0])
        return self.transformer(torch.cat([cls, tokens], dim=1))

    def pool_features(self, features: torch.Tensor) -> torch.Tensor:
        return features[:, 1:].mean(dim=1) if self.pool == "mean" else features[:, 0]

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """The representation: mean of the final patch tokens, or the class token."""
        return self.pool_features(self.forward_features(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(images))


# ---------------------------------------------------------------------------------------------
# Registered factory
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class ViTConfig:
    patch_size: int = option(2, "patch side in pixels (2 for 8x8 digits, 4 or 8 for 32x32 shapes)", gt=0)
    dim: int = option(64, "token width (a multiple of 4 with sin-cos positions)", gt=0)
    depth: int = option(4, "transformer blocks", gt=0)
    heads: int = option(4, "attention heads (divide dim)", gt=0)
    mlp_ratio: float = option(4.0, "MLP hidden width / dim", gt=0)
    pos_embed: str = option("sincos", "position embedding", choices=("sincos", "learned"))
    pool: str = option("mean", "embed(): mean of patch tokens or the class token", choices=("mean", "cls"))
    out_dim: int = option(0, "linear head outputs (0: the data's number of classes; -1: no head)", ge=-1)
    eps: float = option(1e-6, "LayerNorm epsilon", gt=0)


def image_shape(ctx, name: str) -> tuple[int, int, int]:
    """(C, H, W) of the stage's data, or a UserError saying what image data is needed."""
    shape = tuple(ctx.data.input_shape) if ctx is not None and ctx.data is not None else None
    if shape is None or len(shape) != 3:
        raise UserError(f"{name} needs image data shaped (channels, height, width), found {shape}; "
                        "for builtin.digits set image = true")
    return shape


def check_geometry(shape: tuple[int, int, int], patch_size: int, dim: int, heads: int,
                   pos_embed: str, name: str) -> None:
    """Clear errors for a patch size that does not tile the image and mismatched widths."""
    _, height, width = shape
    if height % patch_size or width % patch_size:
        raise UserError(f"{name}: patch_size {patch_size} does not tile {height}x{width} images; "
                        f"use a divisor of {math.gcd(height, width)}")
    if dim % heads:
        raise UserError(f"{name}: dim {dim} is not divisible by heads {heads}")
    if pos_embed == "sincos" and dim % 4:
        raise UserError(f"{name}: sin-cos positions need dim divisible by 4, found {dim}")


def vit(config: ViTConfig, ctx) -> ViT:
    shape = image_shape(ctx, "vit.vit")
    check_geometry(shape, config.patch_size, config.dim, config.heads, config.pos_embed, "vit.vit")
    if config.out_dim == -1:
        classes = 0
    elif config.out_dim:
        classes = config.out_dim
    else:
        classes = getattr(ctx.data, "num_classes", None)
        if not classes:
            raise UserError("vit.vit: out_dim = 0 means the data's class count, but the data has no "
                            "classes; set out_dim (or -1 for no head)")
    return ViT(image_size=shape[1:], patch_size=config.patch_size, channels=shape[0], dim=config.dim,
               depth=config.depth, heads=config.heads, mlp_ratio=config.mlp_ratio,
               pos_embed=config.pos_embed, pool=config.pool, num_classes=classes, eps=config.eps)
