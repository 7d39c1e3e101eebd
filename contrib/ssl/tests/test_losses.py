"""NT-Xent pinned to values computed by hand (SimCLR Eq. 1)."""

import math

import pytest
import torch
from latentzoo.errors import UserError
from latentzoo_ssl.losses import (
    NTXent,
    NTXentConfig,
    negative_mask,
    nt_xent,
    positive_index,
    similarity_logits,
)

# Two examples, unit vectors a, b (view 1) and c, d (view 2); positives a-c and b-d.
# Cosines: ab = 0, ac = .6, ad = .8, bc = .8, bd = .6, cd = .96.
Z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
Z2 = torch.tensor([[0.6, 0.8], [0.8, 0.6]])


def test_positive_index_and_negative_mask():
    assert positive_index(3).tolist() == [3, 4, 5, 0, 1, 2]
    mask = negative_mask(3)
    assert mask.sum(1).tolist() == [4] * 6  # 2N - 2 negatives per anchor
    assert not mask.diagonal().any()  # never itself
    assert not mask[torch.arange(6), positive_index(3)].any()  # never its positive


def test_self_similarity_is_minus_infinity():
    logits = similarity_logits(Z1, Z2, 0.5)
    assert torch.isneginf(logits.diagonal()).all()
    assert logits[0, 1].item() == 0.0  # a legitimate zero cosine stays 0 (ab = 0)
    assert logits[2, 3].item() == pytest.approx(0.96 / 0.5)


def test_nt_xent_by_hand_tau_1():
    # ℓ_a = ℓ_b = -.6 + log(e^0 + e^.6 + e^.8) = 1.018925; ℓ_c = ℓ_d = -.6 + log(e^.6 + e^.8 + e^.96) = 1.296023
    per_anchor = nt_xent(Z1, Z2, temperature=1.0, reduction="none")
    assert per_anchor.tolist() == pytest.approx([1.018925, 1.018925, 1.296023, 1.296023], abs=1e-6)
    assert nt_xent(Z1, Z2, temperature=1.0).item() == pytest.approx(1.157474, abs=1e-6)


def test_nt_xent_by_hand_tau_half():
    # ℓ_a = -1.2 + log(1 + e^1.2 + e^1.6) = 1.027123; ℓ_c = -1.2 + log(e^1.2 + e^1.6 + e^1.92) = 1.514304
    assert nt_xent(Z1, Z2, temperature=0.5).item() == pytest.approx(1.270714, abs=1e-6)


def test_nt_xent_identical_orthogonal_views():
    # each anchor: positive cosine 1, two negatives with cosine 0: log(1 + 2/e) = 0.551445
    z = torch.eye(2)
    assert nt_xent(z, z, temperature=1.0).item() == pytest.approx(0.551445, abs=1e-6)


def test_nt_xent_normalises_and_is_symmetric_in_the_views():
    torch.manual_seed(0)
    a, b = torch.randn(5, 3), torch.randn(5, 3)
    assert nt_xent(3 * a, b, 0.2).item() == pytest.approx(nt_xent(a, b, 0.2).item(), abs=1e-6)
    assert nt_xent(b, a, 0.2).item() == pytest.approx(nt_xent(a, b, 0.2).item(), abs=1e-6)


def test_nt_xent_rejects_bad_input():
    with pytest.raises(ValueError, match="at least 2"):
        nt_xent(Z1[:1], Z2[:1])
    with pytest.raises(ValueError, match="differ in shape"):
        nt_xent(Z1, Z2[:1])


def test_loss_module_runs_the_model_on_both_views():
    loss = NTXent(NTXentConfig(temperature=1.0))
    out = loss(torch.nn.Identity(), {"x1": Z1, "x2": Z2, "y": torch.tensor([0, 1])})
    assert out["loss"].item() == pytest.approx(1.157474, abs=1e-6)
    assert out["positive_cosine"].item() == pytest.approx(0.6)
    with pytest.raises(UserError, match="two views"):
        loss(torch.nn.Identity(), {"x": Z1})


def test_gradient_on_positive_is_minus_sum_over_negatives():
    # d ℓ_i / d s_ip = -(1/τ) Σ_k P_ik = -(1/τ)(1 - P_ip): the logits' gradient rows sum to 0
    logits = similarity_logits(Z1, Z2, 0.5).detach().requires_grad_(True)
    torch.nn.functional.cross_entropy(logits, positive_index(2), reduction="sum").backward()
    grad = logits.grad.nan_to_num(0.0)
    assert grad.sum(1).abs().max().item() < 1e-6
    assert math.isclose(grad[0, 2].item(), -(1 - math.exp(1.2) / (1 + math.exp(1.2) + math.exp(1.6))), abs_tol=1e-6)
