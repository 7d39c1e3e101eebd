"""HPM's network: an MAE ViT with a reconstructor and a loss predictor (arXiv 2312.13714, method section).

Official code: ``models_mae_learn_loss.py:MaskedAutoencoderViT``. The encoder
(:class:`latentzoo_vit.vit.ViT`, fixed 2-D sin-cos positions with a class token) sees only the
visible patches. The decoder input is ``[cls, visible..., mask tokens...]`` with visible and
masked patches each in ascending patch order (the official ``x[~mask]`` / ``x[mask]``
indexing), plus fixed sin-cos decoder positions. Two decoder stacks of equal depth read that
same sequence (they share ``decoder_embed`` and the mask token, as in the official code):

- the reconstructor, ending in ``Linear(p²C)``: pixels of every patch (MAE);
- the loss predictor, ending in ``Linear(p²C)`` and a mean over those outputs: one score ŝ per
  patch, the predicted reconstruction difficulty (HPM's loss predictor).

Both outputs come in decoder order: the masked patches are the last ``num_masked`` entries.
``predict_patch_loss(x)`` runs the loss predictor with every patch visible (what the EMA teacher
does to pick hard patches) and returns ŝ in natural patch order. ``embed(x)`` is the
mean of the encoder's patch tokens on the unmasked image (the representation probed).
"""

from __future__ import annotations

from dataclasses import dataclass

import attrs
import torch
from einops import repeat
from torch import nn

from latentzoo.config import option
from latentzoo.errors import UserError
from latentzoo_vit.masking import natural_order
from latentzoo_vit.vit import (
    ViT,
    Transformer,
    check_geometry,
    gather_tokens,
    image_shape,
    init_weights,
    patchify,
    sincos_pos_embed_2d,
)

__all__ = ["MAEConfig", "MaskedAutoencoderViT", "MaskedOutput", "mae_vit"]


@dataclass(frozen=True)
class MaskedOutput:
    """What one masked forward pass gives, in decoder order ``[visible..., masked...]``.

    Attributes:
        pixels: (b, L, p²C) reconstructed patches.
        loss_pred: (b, L) predicted difficulty ŝ, or ``None`` if not asked for.
        order: (b, L) the patch index at each decoder position.
        num_masked: masked patches per image: the last ``num_masked`` positions.
    """

    pixels: torch.Tensor | None
    loss_pred: torch.Tensor | None
    order: torch.Tensor
    num_masked: int

    @property
    def masked_ids(self) -> torch.Tensor:
        """(b, num_masked) indices of the masked patches, ascending."""
        return self.order[:, self.order.shape[1] - self.num_masked:]


class MaskedAutoencoderViT(nn.Module):
    """MAE encoder-decoder with HPM's second decoder, the loss predictor.

    Args:
        image_size, patch_size, channels: image geometry (patches tile the image).
        dim, depth, heads: encoder width, blocks, heads.
        decoder_dim, decoder_depth, decoder_heads: each decoder stack's width, blocks, heads.
        mlp_ratio, eps: MLP expansion and LayerNorm epsilon of every block.
        loss_predictor: build the loss-predictor stack (HPM); ``False`` gives a plain MAE.
    """

    def __init__(self, *, image_size: tuple[int, int], patch_size: int, channels: int, dim: int = 64,
                 depth: int = 4, heads: int = 4, decoder_dim: int = 32, decoder_depth: int = 2,
                 decoder_heads: int = 4, mlp_ratio: float = 4.0, eps: float = 1e-6,
                 loss_predictor: bool = True):
        super().__init__()
        self.encoder = ViT(image_size=image_size, patch_size=patch_size, channels=channels, dim=dim,
                           depth=depth, heads=heads, mlp_ratio=mlp_ratio, pos_embed="sincos",
                           pool="mean", num_classes=0, eps=eps)
        self.patch_size, self.channels = patch_size, channels
        self.num_patches, self.patch_dim = self.encoder.num_patches, self.encoder.patch_dim
        self.feature_dim = dim

        self.decoder_embed = nn.Linear(dim, decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_dim))
        self.register_buffer("decoder_pos_embed",
                             sincos_pos_embed_2d(decoder_dim, *self.encoder.grid, cls_token=True)[None])
        self.reconstructor = Transformer(decoder_dim, decoder_depth, decoder_heads, mlp_ratio, eps)
        self.to_pixels = nn.Linear(decoder_dim, self.patch_dim)
        if loss_predictor:
            self.loss_predictor = Transformer(decoder_dim, decoder_depth, decoder_heads, mlp_ratio, eps)
            self.to_loss = nn.Linear(decoder_dim, self.patch_dim)
        else:
            self.loss_predictor = self.to_loss = None

        for module in (self.decoder_embed, self.reconstructor, self.to_pixels, self.loss_predictor,
                       self.to_loss):
            if module is not None:
                module.apply(init_weights)
        nn.init.normal_(self.mask_token, std=0.02)

    @property
    def has_loss_predictor(self) -> bool:
        return self.loss_predictor is not None

    def patches(self, images: torch.Tensor) -> torch.Tensor:
        """Reconstruction targets: (b, L, p²C), flattened (row, col, channel) as MAE's patchify."""
        return patchify(images, self.patch_size)

    def forward_masked(self, images: torch.Tensor, mask: torch.Tensor, reconstruct: bool = True,
                       predict_loss: bool = True) -> MaskedOutput:
        """Encode the visible patches, decode ``[cls, visible, mask tokens]``.

        ``mask`` (b, L) is True for masked patches, the same count in every row.
        """
        batch, length = mask.shape
        num_masked = int(mask[0].sum()) if batch else 0
        if batch and not bool((mask.sum(1) == num_masked).all()):
            raise ValueError("every image needs the same number of masked patches")
        if predict_loss and not self.has_loss_predictor:
            raise UserError("this model has no loss predictor (loss_predictor = false); "
                            "set it to true or use a loss without loss prediction")
        order = natural_order(mask)                       # [visible ascending, masked ascending]
        latent = self.encoder.forward_features(images, order[:, : length - num_masked])
        tokens = self.decoder_embed(latent)
        positions = gather_tokens(repeat(self.decoder_pos_embed[:, 1:], "1 l d -> b l d", b=batch), order)
        masked = repeat(self.mask_token, "1 1 d -> b m d", b=batch, m=num_masked)
        sequence = torch.cat([tokens[:, :1] + self.decoder_pos_embed[:, :1],
                              torch.cat([tokens[:, 1:], masked], dim=1) + positions], dim=1)
        pixels = self.to_pixels(self.reconstructor(sequence))[:, 1:] if reconstruct else None
        loss_pred = None
        if predict_loss:  # HPM: Linear(p²C) then the mean over its outputs -> one score per patch
            loss_pred = self.to_loss(self.loss_predictor(sequence))[:, 1:].mean(dim=-1)
        return MaskedOutput(pixels, loss_pred, order, num_masked)

    def predict_patch_loss(self, images: torch.Tensor) -> torch.Tensor:
        """ŝ (b, L) in natural patch order, with every patch visible (the teacher's view)."""
        mask = torch.zeros(images.shape[0], self.num_patches, dtype=torch.bool, device=images.device)
        return self.forward_masked(images, mask, reconstruct=False, predict_loss=True).loss_pred

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder.embed(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.embed(images)


@attrs.frozen
class MAEConfig:
    patch_size: int = option(2, "patch side (2: 16 tokens on 8x8 digits; 4 or 8 on 32x32 shapes)", gt=0)
    dim: int = option(64, "encoder width (repo ViT-B: 768)", gt=0)
    depth: int = option(4, "encoder blocks (repo: 12)", gt=0)
    heads: int = option(4, "encoder heads", gt=0)
    decoder_dim: int = option(32, "decoder width, both stacks (repo: 512)", gt=0)
    decoder_depth: int = option(2, "blocks of each decoder stack (repo: 8)", gt=0)
    decoder_heads: int = option(4, "decoder heads", gt=0)
    mlp_ratio: float = option(4.0, "MLP hidden width / width", gt=0)
    eps: float = option(1e-6, "LayerNorm epsilon", gt=0)
    loss_predictor: bool = option(True, "build HPM's loss-predictor decoder (false: plain MAE)")


def mae_vit(config: MAEConfig, ctx) -> MaskedAutoencoderViT:
    shape = image_shape(ctx, "hpm.mae_vit")
    check_geometry(shape, config.patch_size, config.dim, config.heads, "sincos", "hpm.mae_vit")
    check_geometry(shape, config.patch_size, config.decoder_dim, config.decoder_heads, "sincos",
                   "hpm.mae_vit (decoder)")
    return MaskedAutoencoderViT(
        image_size=shape[1:], patch_size=config.patch_size, channels=shape[0], dim=config.dim,
        depth=config.depth, heads=config.heads, decoder_dim=config.decoder_dim,
        decoder_depth=config.decoder_depth, decoder_heads=config.decoder_heads,
        mlp_ratio=config.mlp_ratio, eps=config.eps, loss_predictor=config.loss_predictor)
