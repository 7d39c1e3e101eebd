"""MAE-style random patch masking as plain functions (MAE, arXiv 2111.06377, Sec. 3).

A mask over ``L`` patches is described by a shuffle ``ids_shuffle`` (b, L): its first
``num_keep`` entries are the visible patches, the rest are masked. ``ids_restore =
argsort(ids_shuffle)`` undoes the shuffle: ``gather(gather(x, ids_shuffle), ids_restore) = x``.
``mask`` (b, L) is True where a patch is masked (MAE's 1 = remove), in natural patch order.

The number of masked patches for a ratio follows MAE's ``len_keep = int(L (1 - ratio))``:
``num_masked = L - int(L (1 - ratio))`` (12 of 16 at ratio 0.75; 8 of 10, not 7).

Other plugins build their own masks (e.g. from predicted patch difficulty) and use
:func:`mask_from_shuffle`, :func:`mask_from_bool` and :func:`natural_order` to get the same
description.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from latentzoo_vit.vit import gather_tokens

__all__ = ["PatchMask", "gather_tokens", "mask_from_bool", "mask_from_shuffle", "masked_count",
           "natural_order", "random_masking", "restore_tokens"]


@dataclass(frozen=True)
class PatchMask:
    """A batch of patch masks.

    Attributes:
        ids_shuffle: (b, L) patch indices, the ``num_keep`` visible ones first.
        ids_restore: (b, L) ``argsort(ids_shuffle)``: position of each patch in the shuffle.
        mask: (b, L) bool, True = masked, in natural patch order.
        num_keep: visible patches per image (the same in every row).
    """

    ids_shuffle: torch.Tensor
    ids_restore: torch.Tensor
    mask: torch.Tensor
    num_keep: int

    @property
    def ids_keep(self) -> torch.Tensor:
        """(b, num_keep) indices of the visible patches (in shuffle order)."""
        return self.ids_shuffle[:, : self.num_keep]

    @property
    def ids_masked(self) -> torch.Tensor:
        """(b, L - num_keep) indices of the masked patches (in shuffle order)."""
        return self.ids_shuffle[:, self.num_keep:]

    @property
    def num_masked(self) -> int:
        return self.mask.shape[1] - self.num_keep


def masked_count(num_patches: int, ratio: float) -> int:
    """MAE's count: ``L - int(L (1 - ratio))`` masked patches out of ``L``."""
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"mask ratio must be in [0, 1), found {ratio}")
    return num_patches - int(num_patches * (1 - ratio))


def mask_from_shuffle(ids_shuffle: torch.Tensor, num_masked: int) -> PatchMask:
    """The mask that hides the last ``num_masked`` patches of each row of ``ids_shuffle``."""
    batch, length = ids_shuffle.shape
    if not 0 <= num_masked <= length:
        raise ValueError(f"cannot mask {num_masked} of {length} patches")
    num_keep = length - num_masked
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    shuffled = torch.ones(batch, length, dtype=torch.bool, device=ids_shuffle.device)
    shuffled[:, :num_keep] = False
    mask = torch.gather(shuffled, 1, ids_restore)  # back to natural order (MAE's unshuffle)
    return PatchMask(ids_shuffle, ids_restore, mask, num_keep)


def natural_order(mask: torch.Tensor) -> torch.Tensor:
    """(b, L) indices: visible patches in ascending order, then masked ones in ascending order.

    This is the ``[x[~mask], x[mask]]`` layout of MAE variants that index with a boolean mask
    (UM-MAE, HPM): a stable sort of the mask bits.
    """
    return torch.sort(mask.to(torch.uint8), dim=1, stable=True).indices


def mask_from_bool(mask: torch.Tensor) -> PatchMask:
    """The :class:`PatchMask` of a boolean mask (True = masked) with the same count in every row.

    The shuffle lists visible then masked patches, each in ascending order (:func:`natural_order`).
    """
    counts = mask.sum(dim=1)
    if len(counts) and not bool((counts == counts[0]).all()):
        raise ValueError(f"every image needs the same number of masked patches, found {counts.tolist()}")
    num_masked = int(counts[0]) if len(counts) else 0
    return mask_from_shuffle(natural_order(mask), num_masked)


def random_masking(batch_size: int, num_patches: int, num_masked: int, *,
                   device: torch.device | str | None = None,
                   generator: torch.Generator | None = None) -> PatchMask:
    """Mask ``num_masked`` of ``num_patches`` patches uniformly at random, independently per image.

    MAE's ``random_masking``: ``ids_shuffle = argsort(noise)`` for uniform noise.
    """
    noise = torch.rand(batch_size, num_patches, device=device, generator=generator)
    return mask_from_shuffle(torch.argsort(noise, dim=1), num_masked)


def restore_tokens(tokens: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
    """Put tokens given in shuffle order (b, L, d) back into natural patch order."""
    return gather_tokens(tokens, ids_restore)
