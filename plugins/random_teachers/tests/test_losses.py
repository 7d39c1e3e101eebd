"""The distillation loss of arXiv 2302.12091 pinned by hand-computed values (spec tests 1-3)."""

import math

import attrs
import pytest
import torch
from latentzoo.build import BuildContext
from latentzoo.errors import UserError
from latentzoo_random_teachers.losses import (
    DistillCE,
    DistillConfig,
    crop_pairs,
    multicrop_cross_entropy,
)
from latentzoo_random_teachers.models import NetConfig, build_network, init_student


def _net(seed=0, batchnorm=True, **arch):
    config = attrs.asdict(NetConfig(hidden=(8, 8), head_hidden=(8,), bottleneck=4, out_dim=6,
                                    batchnorm=batchnorm, **arch))
    config.pop("init_seed")
    return build_network(config, (5,), seed)


def _loss(teacher, **config):
    return DistillCE(DistillConfig(**config), BuildContext(artifacts={"teacher": teacher}))


def test_cross_entropy_and_kl_by_hand():
    # p_T = softmax(0, ln 2) = (1/3, 2/3); q_S = softmax(0, 0) = (1/2, 1/2)
    t = torch.tensor([[[0.0, math.log(2.0)]]], dtype=torch.float64)
    s = torch.zeros(1, 1, 2, dtype=torch.float64)
    out = multicrop_cross_entropy(t, s)
    assert out["ce"].item() == pytest.approx(math.log(2.0), abs=1e-12)          # −Σ p log 1/2
    h_t = math.log(3.0) - 2.0 / 3.0 * math.log(2.0)                              # H(1/3, 2/3)
    assert out["h_teacher"].item() == pytest.approx(h_t, abs=1e-12)
    assert out["kl"].item() == pytest.approx(5.0 / 3.0 * math.log(2.0) - math.log(3.0), abs=1e-12)
    assert out["kl"].item() > 0
    assert out["h_student"].item() == pytest.approx(math.log(2.0), abs=1e-12)


def test_kl_zero_for_equal_logits_and_nonnegative():
    logits = torch.randn(1, 7, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    assert multicrop_cross_entropy(logits, logits.clone())["kl"].abs().item() < 1e-12
    other = torch.randn(1, 7, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    assert multicrop_cross_entropy(logits, other)["kl"].item() > 0


def test_crop_pairing_by_index():
    assert crop_pairs(2, 2, "same") == [(0, 0), (1, 1)]
    assert crop_pairs(2, 2, "opposite") == [(0, 1), (1, 0)]
    assert crop_pairs(2, 3, "all") == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    with pytest.raises(UserError, match="no \\(teacher, student\\) crop pair"):
        crop_pairs(1, 1, "opposite")
    # mean over pairs: teacher crops (p, q), student crops (u, u'); opposite = mean(CE(p,u'), CE(q,u))
    t = torch.tensor([[[0.0, math.log(2.0)]], [[0.0, 0.0]]], dtype=torch.float64)
    s = torch.tensor([[[0.0, 0.0]], [[0.0, math.log(3.0)]]], dtype=torch.float64)
    ce_p_s1 = -(1 / 3 * math.log(1 / 4) + 2 / 3 * math.log(3 / 4))
    ce_q_s0 = math.log(2.0)
    got = multicrop_cross_entropy(t, s, "opposite")["ce"].item()
    assert got == pytest.approx((ce_p_s1 + ce_q_s0) / 2, abs=1e-12)


def test_temperatures_divide_after_centring():
    teacher = _net().double().eval()
    loss = _loss(teacher, t_temp=0.5, s_temp=2.0)
    student = init_student(teacher, _net(1).double(), "random").eval()
    x = torch.randn(4, 5, dtype=torch.float64)
    got = loss(student, {"x": x})["loss"]
    p = torch.softmax(teacher(x) / 0.5, -1)
    expected = -(p * torch.log_softmax(student(x) / 2.0, -1)).sum(-1).mean()
    assert got.item() == pytest.approx(expected.item(), abs=1e-12)


def _max_gradient(batchnorm: bool) -> float:
    teacher = _net(batchnorm=batchnorm).double().eval()
    student = init_student(teacher, _net(1, batchnorm=batchnorm).double(), "teacher").train()
    loss = _loss(teacher)
    x = torch.randn(16, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3)) * 3 + 1
    out = loss(student, {"x": x})
    out["loss"].backward()
    assert out["kl"].abs().item() < 1e-15 or batchnorm
    return max(p.grad.abs().max().item() for p in student.parameters())


def test_zero_gradient_at_step_zero_without_batchnorm():
    """Spec test 1: s_init=teacher, no BN, τ_T = τ_S, no centring -> the gradient is 0.

    dCE/dlogits_S = (softmax(logits_S) − p_T) / B = 0 for equal logits; what remains is the
    round-off of Σ_k p_T,k = 1 in log_softmax's backward, amplified by the L2 normalisations
    (~1e-14 in float64). With BatchNorm
    the student (batch statistics) and the teacher (running statistics) differ: a real gradient.
    """
    assert _max_gradient(batchnorm=False) < 1e-12
    assert _max_gradient(batchnorm=True) > 1e-6


def test_centring_updates_after_use():
    """Spec test 3: c = 0, m = 0.9 -> after one step c = 0.1·mean(g_T); step 1 used c = 0."""
    teacher = _net().double().eval()
    student = init_student(teacher, _net(1).double(), "random").eval()
    loss = _loss(teacher, t_temp=0.04, s_temp=0.1, t_cmom=0.9).double()
    x1, x2 = torch.randn(4, 5, dtype=torch.float64), torch.randn(4, 5, dtype=torch.float64)
    g1, g2 = teacher(x1), teacher(x2)

    def ce(t_logits, x):
        p = torch.softmax(t_logits, -1)
        return -(p * torch.log_softmax(student(x) / 0.1, -1)).sum(-1).mean().item()

    first = loss(student, {"x": x1})["loss"].item()
    assert first == pytest.approx(ce(g1 / 0.04, x1), abs=1e-10)
    c1 = 0.1 * g1.mean(0)
    torch.testing.assert_close(loss.t_centre, c1, rtol=0, atol=1e-15)
    second = loss(student, {"x": x2})["loss"].item()
    assert second == pytest.approx(ce((g2 - c1) / 0.04, x2), abs=1e-10)
    torch.testing.assert_close(loss.t_centre, 0.9 * c1 + 0.1 * g2.mean(0), rtol=0, atol=1e-15)
    assert torch.count_nonzero(loss.s_centre) == 0          # student centring off


def test_centres_take_the_teachers_dtype():
    """A float64 teacher gets float64 centres without casting the loss (the official head's
    centre buffer follows the model's dtype): c = 0.1·mean(g_T) to float64 round-off."""
    teacher = _net().double().eval()
    loss = _loss(teacher, t_cmom=0.9, s_cmom=0.5)                 # no .double() on the loss
    assert loss.t_centre.dtype == loss.s_centre.dtype == torch.float64
    student = init_student(teacher, _net(1).double(), "random").eval()
    x = torch.randn(4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    loss(student, {"x": x})
    torch.testing.assert_close(loss.t_centre, 0.1 * teacher(x).mean(0), rtol=0, atol=1e-16)
    torch.testing.assert_close(loss.s_centre, 0.5 * student(x).mean(0), rtol=0, atol=1e-16)
    assert _loss(_net(), t_cmom=0.9).t_centre.dtype == torch.float32


def test_no_centring_leaves_centre_at_zero():
    teacher = _net()
    loss = _loss(teacher)
    loss(init_student(teacher, _net(1), "teacher"), {"x": torch.randn(8, 5)})
    assert torch.count_nonzero(loss.t_centre) == 0 and torch.count_nonzero(loss.s_centre) == 0


def test_missing_teacher_input_is_a_clear_error():
    with pytest.raises(UserError, match="inputs = \\{ teacher"):
        DistillCE(DistillConfig(), BuildContext(artifacts={}))
