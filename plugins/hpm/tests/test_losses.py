"""HPM's loss equations against values computed by hand (spec correctness tests 1, 2, 5)."""

import math

import pytest
import torch

from latentzoo_hpm.losses import (
    mse_loss_prediction,
    reconstruction_loss,
    relative_loss_prediction,
    standardize,
)

HALF = -math.log(0.5 + 1e-6)               # one pair at ŝ_i = ŝ_j: 0.6931452 (not ln 2 = 0.6931472)


def test_two_patches_equal_scores():
    # ℓ = (1, 2), ŝ = (0, 0): both ordered pairs cost −log(σ(0) + 1e-6)
    value = relative_loss_prediction(torch.zeros(1, 2), torch.tensor([[1.0, 2.0]]))
    assert value.item() == pytest.approx(0.6931452, abs=1e-7)
    assert value.item() == pytest.approx(HALF, abs=1e-7)


def test_perfect_and_reversed_order():
    losses = torch.tensor([[0.1, 0.4, 0.2, 0.3]])
    perfect = relative_loss_prediction(100 * losses * 10, losses)  # margins >= 100
    assert abs(perfect.item()) < 1e-3
    # ≈ −log(1 + 1e-6) ≈ −1e-6: slightly negative (float32: 1 + 1e-6 rounds to 1 + 9.5e-7)
    assert -1.1e-6 < perfect.item() < -0.9e-6
    reversed_ = relative_loss_prediction(-1000 * losses, losses)
    assert reversed_.item() > 10
    assert reversed_.item() == pytest.approx(-math.log(1e-6), rel=1e-4)   # the cap ≈ 13.8155


def test_tied_pairs_are_left_out():
    # ℓ = (1, 1, 2), ŝ = (0, 5, 0): the tied pair (0, 1) counts in neither sum; 4 ordered pairs:
    # (0, 2) and (2, 0) at margin 0, (1, 2) and (2, 1) at margin 5 against the order.
    value = relative_loss_prediction(torch.tensor([[0.0, 5.0, 0.0]]), torch.tensor([[1.0, 1.0, 2.0]]))
    sigma_minus_5 = 1 / (1 + math.exp(5))
    expected = (2 * HALF + 2 * -math.log(sigma_minus_5 + 1e-6)) / 4
    assert value.item() == pytest.approx(expected, rel=1e-6)


def test_pooled_mean_over_the_batch():
    # image A: ℓ = (1, 2, 2), ŝ = (5, 0, 0): patches 1 and 2 tie; the ordered pairs (0,1), (1,0),
    # (0,2), (2,0) are all against the scores' order by 5: 4 pairs of c = −log(σ(−5) + 1e-6).
    # image B: ℓ = (1, 2, 3), ŝ = 0: 6 pairs of HALF.
    # Pooled: (4c + 6 HALF) / 10, not the mean of per-image means (c + HALF) / 2.
    c = -math.log(1 / (1 + math.exp(5)) + 1e-6)
    scores = torch.tensor([[5.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    losses = torch.tensor([[1.0, 2.0, 2.0], [1.0, 2.0, 3.0]])
    expected = (4 * c + 6 * HALF) / 10
    assert expected != pytest.approx((c + HALF) / 2)
    assert relative_loss_prediction(scores, losses).item() == pytest.approx(expected, rel=1e-6)


def test_all_tied_is_nan_or_zero():
    assert math.isnan(relative_loss_prediction(torch.zeros(2, 3), torch.ones(2, 3)).item())
    assert math.isnan(relative_loss_prediction(torch.zeros(4, 1), torch.rand(4, 1)).item())  # M = 1
    assert relative_loss_prediction(torch.zeros(2, 3), torch.ones(2, 3), all_tied="zero").item() == 0.0


def test_losses_are_detached():
    scores = torch.zeros(1, 3, requires_grad=True)
    losses = torch.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    relative_loss_prediction(scores, losses).backward()
    assert losses.grad is None and scores.grad is not None
    # d/dŝ_2 of the pooled mean: patch 2 is the largest; at margin 0 each of its 4 ordered pairs
    # contributes ∓0.5 / 6 (σ'(0)/(σ(0)+1e-6) ≈ 0.5): gradient −4·0.5/6 ≈ −1/3
    assert scores.grad[0, 2].item() == pytest.approx(-1 / 3, rel=1e-4)


def test_mse_target_standardised_per_image():
    losses = torch.tensor([[1.0, 2.0, 3.0, 6.0], [5.0, 5.0, 5.0, 5.0]])
    target = standardize(losses, dim=1)
    assert target[0].mean().item() == pytest.approx(0.0, abs=1e-6)
    assert target[0].var().item() == pytest.approx(1.0, abs=1e-5)     # unbiased, ≈ 1 (the +1e-6)
    # by hand: mean 3, unbiased variance 14/3
    assert target[0].tolist() == pytest.approx([v / math.sqrt(14 / 3 + 1e-6) for v in (-2, -1, 0, 3)])
    assert target[1].tolist() == [0.0, 0.0, 0.0, 0.0]                 # a constant row maps to 0
    # ŝ = 0: the loss is mean(target²) = (14/4) / (14/3) = 3/4 for image 0 and 0 for image 1
    assert mse_loss_prediction(torch.zeros(2, 4), losses).item() == pytest.approx(0.375, rel=1e-5)


def test_reconstruction_loss_by_hand():
    pred = torch.zeros(1, 2, 4)
    target = torch.tensor([[[1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0]]])
    mean, per_patch = reconstruction_loss(pred, target)
    assert per_patch.tolist() == [[1.0, 7.5]]                  # (1+4+9+16)/4 = 7.5
    assert mean.item() == pytest.approx(4.25)
    # norm_pix_loss: patch 2 -> (−1.5, −0.5, 0.5, 1.5)/sqrt(5/3 + 1e-6): mean square 1.25·3/5 = 0.75
    _, normed = reconstruction_loss(pred, target, norm_pix_loss=True)
    assert normed[0, 0].item() == 0.0
    assert normed[0, 1].item() == pytest.approx(0.75 / (1 + 0.6e-6), rel=1e-6)
