"""Wang & Liu's losses pinned to values computed by hand (spec correctness tests 1-4, 6)."""

import math

import pytest
import torch
from latentzoo.errors import UserError
from latentzoo_contrastive_temperature.losses import (
    HardInfoNCE,
    HardInfoNCEConfig,
    InfoNCE,
    InfoNCEConfig,
    Simple,
    SimpleConfig,
    batch_infonce,
    batch_penalty_entropy,
    batch_simple,
    hard_infonce_per_anchor,
    hard_negative_count,
    infonce_per_anchor,
    penalty_entropy,
    positive_and_negatives,
    relative_penalty,
    simple_per_anchor,
)
from latentzoo_ssl.losses import nt_xent

S_POS = torch.tensor([1.0])
S_NEG = torch.tensor([[0.5, 0.0]])


def test_infonce_by_hand():
    # spec test 1: -1/.5 + log(e^2 + e^1 + e^0) = log(1 + e^-1 + e^-2) = 0.407606
    assert infonce_per_anchor(S_POS, S_NEG, 0.5).item() == pytest.approx(0.407606, abs=1e-6)


def test_relative_penalty_by_hand():
    # r = softmax([.5, 0] / .5) = [e/(e+1), 1/(e+1)]
    assert relative_penalty(S_NEG, 0.5)[0].tolist() == pytest.approx([0.731059, 0.268941], abs=1e-6)
    # entropy -Σ r log r of those two numbers = 0.582203
    assert penalty_entropy(S_NEG, 0.5).item() == pytest.approx(0.582203, abs=1e-6)


def test_gradients_eq_2_and_3():
    torch.manual_seed(0)
    s_pos = torch.rand(4, requires_grad=True)
    s_neg = (2 * torch.rand(4, 6) - 1).requires_grad_(True)
    tau = 0.3
    infonce_per_anchor(s_pos, s_neg, tau).sum().backward()
    assert torch.allclose(s_pos.grad, -s_neg.grad.sum(1), atol=1e-6)  # ∂L/∂s_ip = −Σ_k ∂L/∂s_ik
    z = torch.exp(s_pos.detach() / tau) + torch.exp(s_neg.detach() / tau).sum(1)
    probabilities = torch.exp(s_neg.detach() / tau) / z[:, None]  # P_ij
    assert torch.allclose(s_neg.grad, probabilities / tau, atol=1e-6)  # ∂L/∂s_ij = P_ij / τ
    # the relative penalty is the ratio of the two gradients (Eq. 4)
    assert torch.allclose(s_neg.grad / -s_pos.grad[:, None], relative_penalty(s_neg.detach(), tau), atol=1e-6)


def test_penalty_entropy_strictly_increases_with_tau():
    torch.manual_seed(1)
    s_neg = 2 * torch.rand(8, 20) - 1
    values = [penalty_entropy(s_neg, tau).mean().item() for tau in (0.05, 0.1, 0.2, 0.5, 1.0, 5.0)]
    assert all(a < b for a, b in zip(values, values[1:]))
    assert values[-1] < math.log(20)  # bounded by the uniform push


def test_small_tau_limit_is_a_triplet_loss():
    # spec test 3: τ·L → max(s_max − s_ip, 0): 0.5 − 0.2 = 0.3, and 0 when s_ip = 1 > s_max
    tau = 1e-3
    assert tau * infonce_per_anchor(torch.tensor([0.2]), S_NEG, tau).item() == pytest.approx(0.3, abs=1e-3)
    assert tau * infonce_per_anchor(torch.tensor([1.0]), S_NEG, tau).item() == pytest.approx(0.0, abs=1e-3)


def test_large_tau_limit_weights_negatives_equally():
    # τ→∞: L ≈ log(|N|+1) − (1/((|N|+1)τ))·Σ_k (s_ip − s_ik) = log 3 − (0.5 + 1)/(3τ)
    tau = 1e3
    expected = math.log(3) - (0.5 + 1.0) / (3 * tau)
    assert infonce_per_anchor(S_POS, S_NEG, tau).item() == pytest.approx(expected, abs=1e-6)


def test_hard_infonce_with_all_negatives_is_infonce():
    torch.manual_seed(2)
    s_pos, s_neg = torch.rand(5), torch.rand(5, 7)
    assert torch.equal(hard_infonce_per_anchor(s_pos, s_neg, 0.2, 1.0), infonce_per_anchor(s_pos, s_neg, 0.2))


def test_hard_infonce_keeps_exactly_k_negatives_under_ties():
    # 6 tied negatives at .5, ρ = .5 -> K = 3: -1/.5 + log(e^2 + 3e^1) = log(1 + 3/e) = 0.743668
    s_neg = torch.full((1, 6), 0.5)
    assert hard_negative_count(6, 0.5) == 3
    assert hard_infonce_per_anchor(S_POS, s_neg, 0.5, 0.5).item() == pytest.approx(0.743668, abs=1e-6)
    sim = torch.full((4, 4), 0.5).fill_diagonal_(1.0)  # B = 2: anchors 0..3, positives 2, 3, 0, 1
    sim[0, 2] = sim[2, 0] = sim[1, 3] = sim[3, 1] = 1.0
    # 2 negatives at .5 each, ρ = .5 -> K = 1: log(1 + e^-1) = 0.313262 for every anchor
    assert batch_infonce(sim, 0.5, 0.5).item() == pytest.approx(0.313262, abs=1e-6)


def test_hard_infonce_picks_the_most_similar_negatives():
    # negatives [.9, .1, .5], K = ⌈.5·3⌉ = 2 -> {.9, .5}: -0/1 + log(e^0 + e^.9 + e^.5)
    value = hard_infonce_per_anchor(torch.tensor([0.0]), torch.tensor([[0.9, 0.1, 0.5]]), 1.0, 0.5).item()
    assert value == pytest.approx(math.log(1 + math.exp(0.9) + math.exp(0.5)), abs=1e-6)
    assert hard_negative_count(510, 0.1) == 51 and hard_negative_count(510, 0.25) == 128
    assert hard_negative_count(3, 0.01) == 1


def test_simple_loss_by_hand():
    # -1 + λ·mean(.5, 0): λ = 1 -> -0.75; λ = 2 -> -0.5
    assert simple_per_anchor(S_POS, S_NEG).item() == pytest.approx(-0.75)
    assert simple_per_anchor(S_POS, S_NEG, 2.0).item() == pytest.approx(-0.5)


def test_batch_forms_equal_per_anchor_forms_and_nt_xent():
    torch.manual_seed(3)
    z1, z2 = torch.randn(6, 5), torch.randn(6, 5)
    s_pos, s_neg = positive_and_negatives(z1, z2)
    assert s_neg.shape == (12, 10)  # 2B − 2 negatives, neither self nor positive
    z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T
    for tau in (0.05, 0.5):
        plain = batch_infonce(sim, tau)
        assert plain.item() == pytest.approx(infonce_per_anchor(s_pos, s_neg, tau).mean().item(), abs=1e-5)
        assert plain.item() == pytest.approx(nt_xent(z1, z2, tau).item(), abs=1e-5)
        hard = batch_infonce(sim, tau, 0.3)
        assert hard.item() == pytest.approx(hard_infonce_per_anchor(s_pos, s_neg, tau, 0.3).mean().item(), abs=1e-5)
        assert batch_penalty_entropy(sim, tau).item() == pytest.approx(penalty_entropy(s_neg, tau).mean().item(), abs=1e-5)
    assert batch_simple(sim).item() == pytest.approx(simple_per_anchor(s_pos, s_neg).mean().item(), abs=1e-6)
    assert batch_penalty_entropy(sim, math.inf).item() == pytest.approx(math.log(10), abs=1e-6)


def test_hard_selection_is_outside_the_graph():
    torch.manual_seed(4)
    z = torch.nn.functional.normalize(torch.randn(8, 3), dim=1).requires_grad_(True)
    batch_infonce(z @ z.T, 0.2, 0.25).backward()
    assert torch.isfinite(z.grad).all()


def test_loss_modules_and_recorded_temperature():
    model = torch.nn.Identity()
    batch = {"x1": torch.eye(3)[:2], "x2": torch.eye(3)[:2]}
    # B = 2, identical orthogonal views: positive cosine 1, negatives 0, 0: log(1 + 2e^{-1/τ}) at τ=1
    out = InfoNCE(InfoNCEConfig(temperature=1.0))(model, batch)
    assert out["loss"].item() == pytest.approx(math.log(1 + 2 / math.e), abs=1e-6)
    assert out["positive_cosine"].item() == pytest.approx(1.0)
    assert out["penalty_entropy"].item() == pytest.approx(math.log(2), abs=1e-6)
    assert Simple(SimpleConfig())(model, batch)["loss"].item() == pytest.approx(-1.0)
    loss = HardInfoNCE(HardInfoNCEConfig(temperature=0.5, ratio=0.5))
    assert loss(model, batch)["loss"].item() == pytest.approx(math.log(1 + math.exp(-2)), abs=1e-6)
    module = torch.nn.Linear(1, 1)
    loss.after_step(model=module, step=1)
    assert module.contrastive_temperature == 0.5
    with pytest.raises(UserError, match="two views"):
        loss(model, {"x": torch.eye(3)})
