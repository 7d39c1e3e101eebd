"""Masking invariants: exact counts, restore inverts shuffle, natural order, MAE's count."""

import pytest
import torch

from latentzoo_vit.masking import (
    mask_from_bool,
    mask_from_shuffle,
    masked_count,
    natural_order,
    random_masking,
    restore_tokens,
)
from latentzoo_vit.vit import gather_tokens


def test_masked_count_follows_mae():
    assert masked_count(16, 0.75) == 12
    assert masked_count(10, 0.75) == 8      # L - int(2.5) = 8, not int(7.5) = 7
    assert masked_count(64, 0.75) == 48
    assert masked_count(16, 0.0) == 0
    with pytest.raises(ValueError):
        masked_count(16, 1.0)


@pytest.mark.parametrize("num_masked", [0, 1, 12, 16])
def test_random_masking_counts_and_restore(num_masked):
    generator = torch.Generator().manual_seed(0)
    masking = random_masking(64, 16, num_masked, generator=generator)
    assert masking.mask.dtype == torch.bool
    assert (masking.mask.sum(1) == num_masked).all()
    assert masking.ids_keep.shape == (64, 16 - num_masked)
    # the kept ids are exactly the unmasked patches
    assert not torch.gather(masking.mask, 1, masking.ids_keep).any()
    assert torch.gather(masking.mask, 1, masking.ids_masked).all()
    # restore inverts the shuffle, on indices and on tokens
    tokens = torch.randn(64, 16, 3)
    shuffled = gather_tokens(tokens, masking.ids_shuffle)
    assert torch.equal(restore_tokens(shuffled, masking.ids_restore), tokens)
    assert torch.equal(torch.gather(masking.ids_shuffle, 1, masking.ids_restore),
                       torch.arange(16).expand(64, 16))


def test_random_masking_is_random_per_row():
    masking = random_masking(256, 16, 12, generator=torch.Generator().manual_seed(1))
    assert len({tuple(row.tolist()) for row in masking.mask}) > 200
    # every patch is masked about 12/16 of the time
    assert masking.mask.float().mean(0).sub(0.75).abs().max() < 0.12


def test_mask_from_shuffle_by_hand():
    masking = mask_from_shuffle(torch.tensor([[2, 0, 3, 1]]), 2)
    assert masking.mask.tolist() == [[False, True, False, True]]  # patches 3 and 1 are masked
    assert masking.ids_restore.tolist() == [[1, 3, 0, 2]]


def test_natural_order_and_mask_from_bool():
    mask = torch.tensor([[True, False, True, False, False], [False, True, True, True, False]])
    assert natural_order(mask).tolist() == [[1, 3, 4, 0, 2], [0, 4, 1, 2, 3]]
    with pytest.raises(ValueError, match="same number"):
        mask_from_bool(mask)
    same = torch.tensor([[True, False, True, False], [False, True, False, True]])
    masking = mask_from_bool(same)
    assert masking.num_masked == 2
    assert torch.equal(masking.mask, same)
    assert masking.ids_keep.tolist() == [[1, 3], [0, 2]]
