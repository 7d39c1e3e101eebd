"""Mask selection and schedules (spec correctness tests 3 and 6)."""

import pytest
import torch

from latentzoo_hpm.schedule import ema_decay, epoch_of_step, hard_patch_count, hard_patch_mask


def test_hard_patch_count_easy_to_hard():
    # L = 16, ratio 0.75: N_mask = 12; T = 200: int(12 · 0.5 (e+1)/200)
    counts = [hard_patch_count(12, epoch, 200) for epoch in range(200)]
    assert counts[:33] == [0] * 33                       # epochs 0-32 fully random
    assert counts[33] == 1                               # 12 · 0.5 · 34/200 = 1.02
    assert counts[99] == 3 and counts[199] == 6          # α_T = 0.5: half of the masked set
    assert counts == sorted(counts)
    assert hard_patch_count(12, 0, 200, easy_to_hard=False) == 6
    assert hard_patch_count(8, 199, 200) == 4            # L = 10: N_mask = 8


def test_mask_has_exact_count_and_contains_top_patches():
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(64, 16, generator=generator)
    mask = hard_patch_mask(scores, 12, 6, torch.rand(64, 16, generator=generator))
    assert (mask.sum(1) == 12).all()
    top = scores.topk(6, dim=1).indices
    assert torch.gather(mask, 1, top).all()
    # the other 6 come from the 10 remaining patches at random: rows differ
    rest = mask.clone().scatter_(1, top, False)
    assert len({tuple(r.tolist()) for r in rest}) > 30


def test_full_hard_share_masks_exactly_the_top():
    scores = torch.arange(16.0).repeat(3, 1)
    mask = hard_patch_mask(scores, 12, 12)
    assert mask[:, 4:].all() and not mask[:, :4].any()


def test_zero_hard_is_random():
    scores = torch.arange(16.0).repeat(256, 1)           # the same scores for every image
    mask = hard_patch_mask(scores, 12, 0, torch.rand(256, 16, generator=torch.Generator().manual_seed(1)))
    assert (mask.sum(1) == 12).all()
    assert len({tuple(r.tolist()) for r in mask}) > 200
    # the lowest-score patch is masked about as often as the highest (no score preference)
    frequency = mask.float().mean(0)
    assert abs(frequency[0] - frequency[15]) < 0.15


def test_ties_broken_at_random():
    scores = torch.zeros(512, 16)
    mask = hard_patch_mask(scores, 12, 6, torch.rand(512, 16, generator=torch.Generator().manual_seed(2)))
    assert (mask.sum(1) == 12).all()
    assert mask.float().mean(0).sub(0.75).abs().max() < 0.1


def test_bad_counts():
    with pytest.raises(ValueError):
        hard_patch_mask(torch.zeros(1, 4), 5, 0)
    with pytest.raises(ValueError):
        hard_patch_mask(torch.zeros(1, 4), 2, 3)


def test_ema_decay_schedule():
    assert ema_decay(0) == pytest.approx(0.999, abs=1e-12)
    assert ema_decay(50) == pytest.approx(0.99945, abs=1e-12)
    assert ema_decay(100) == 0.9999 and ema_decay(150) == 0.9999
    assert ema_decay(5, 0.9, 0.99, 10) == pytest.approx(0.945)


def test_epoch_of_step():
    # 500 steps standing for 50 epochs: 10 steps per epoch
    assert [epoch_of_step(s, 500, 50) for s in (0, 9, 10, 499, 600)] == [0, 0, 1, 49, 49]
