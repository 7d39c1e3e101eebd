"""The distillation objectives against values computed by hand (arXiv:2411.08937, Sec. 3-4)."""

import math

import pytest
import torch
import torch.nn.functional as F
from latentzoo_dual_head_kd.objectives import binary_kl, binary_kl_norm, softmax_kd

LN3 = math.log(3.0)
# KL(Bern(0.75) || Bern(0.5)) = 0.75 ln(0.75/0.5) + 0.25 ln(0.25/0.5) = 0.304099 - 0.173287
KL_075_05 = 0.13081203594
LOGCOSH_1 = 0.43378083048  # ln((e + 1/e) / 2)


def test_binary_kl_norm_hand_value_and_gradient():
    # spec test 1: T=2, z_s=[4], z_t=[0], N=1 -> 4 log cosh(1) = 1.735123, d/dz_s = tanh(1) = 0.761594
    for clamp, dtype in (("log_space", torch.float32), ("official", torch.float64)):
        z_s = torch.tensor([[4.0]], dtype=dtype, requires_grad=True)
        loss = binary_kl_norm(z_s, torch.zeros(1, 1, dtype=dtype), 2.0, clamp)
        loss.backward()
        assert loss.item() == pytest.approx(1.735123, abs=1e-6)
        assert z_s.grad.item() == pytest.approx(0.761594, abs=1e-6)


def test_binary_kl_hand_value():
    # T=2, z_t = 2 ln 3 -> t = sigma(ln 3) = 0.75; z_s = 0 -> s = 0.5; L = T^2 KL = 4 * 0.130812
    z_t = torch.tensor([[2 * LN3]])
    for clamp in ("log_space", "official"):
        assert binary_kl(torch.zeros(1, 1), z_t, 2.0, clamp).item() == pytest.approx(4 * KL_075_05, abs=1e-6)


def test_softmax_kd_hand_value():
    # T=2, z_t = [2 ln 3, 0] -> p_t = [0.75, 0.25]; z_s = [0, 0] -> p_s = [0.5, 0.5]
    value = softmax_kd(torch.zeros(1, 2), torch.tensor([[2 * LN3, 0.0]]), 2.0)
    assert value.item() == pytest.approx(4 * KL_075_05, abs=1e-6)


def test_softmax_kd_matches_official_kl_div_form():
    # spec test 5: T^2 KL == F.kl_div(log_softmax(z_s/T), softmax(z_t/T), reduction='sum') T^2 / N
    g = torch.Generator().manual_seed(0)
    z_s, z_t, temperature = torch.randn(7, 5, generator=g) * 3, torch.randn(7, 5, generator=g) * 3, 4.0
    official = F.kl_div(F.log_softmax(z_s / temperature, 1), F.softmax(z_t / temperature, 1),
                        reduction="sum") * temperature ** 2 / 7
    assert softmax_kd(z_s, z_t, temperature).item() == pytest.approx(official.item(), rel=1e-5)


def test_zero_iff_equal_and_uniform_shift_is_seen_only_by_logit_losses():
    # spec test 2: a uniform shift z_s = z_t + c leaves softmax KD at 0; BinaryKL(-Norm) see it
    z_t = torch.tensor([[1.0, 2.0, 3.0]])
    for loss in (binary_kl, binary_kl_norm):
        assert loss(z_t.clone(), z_t, 2.0).item() == pytest.approx(0.0, abs=1e-7)
        assert loss(z_t + 4.0, z_t, 2.0).item() > 0.1
    assert softmax_kd(z_t + 4.0, z_t, 4.0).item() == pytest.approx(0.0, abs=1e-6)
    # BinaryKL-Norm of a shift c over C classes: T^2 C log cosh(c / 2T) = 4 * 3 * log cosh(1)
    assert binary_kl_norm(z_t + 4.0, z_t, 2.0).item() == pytest.approx(12 * LOGCOSH_1, abs=1e-5)


def test_reduction_sums_classes_and_averages_the_batch():
    g = torch.Generator().manual_seed(1)
    z_s, z_t = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    for loss in (binary_kl, binary_kl_norm, softmax_kd):
        single = loss(z_s, z_t)
        assert loss(torch.cat([z_s, z_s]), torch.cat([z_t, z_t])).item() == pytest.approx(single.item(), rel=1e-5)
    for loss in (binary_kl, binary_kl_norm):  # element-wise: classes side by side add up
        both = loss(torch.cat([z_s, z_s], 1), torch.cat([z_t, z_t], 1))
        assert both.item() == pytest.approx(2 * loss(z_s, z_t).item(), rel=1e-5)


def test_log_space_equals_official_clamp_where_the_clamp_is_inactive():
    g = torch.Generator().manual_seed(2)
    z_s, z_t = torch.randn(6, 4, generator=g, dtype=torch.float64) * 5, torch.randn(6, 4, generator=g, dtype=torch.float64) * 5
    for loss in (binary_kl, binary_kl_norm):
        assert loss(z_s, z_t, 2.0, "log_space").item() == pytest.approx(loss(z_s, z_t, 2.0, "official").item(), rel=1e-9)


def test_official_clamp_float32_overflows_while_log_space_stays_exact():
    # (z_s - z_t)/T = 17: in float32 1 - sigmoid(17) underflows and 1 - 1e-8 rounds to 1 -> +inf
    z_s, z_t = torch.tensor([[34.0]]), torch.zeros(1, 1)
    assert math.isinf(binary_kl_norm(z_s, z_t, 2.0, "official").item())
    # exact: 4 log cosh(8.5) = 4 (8.5 - ln 2 + ln(1 + e^-17)) = 31.227411
    assert binary_kl_norm(z_s, z_t, 2.0).item() == pytest.approx(31.227411, abs=1e-4)


def test_official_clamp_float64_caps_value_and_zeroes_gradient():
    # (z_s - z_t)/T = 20 > 18.42: u clamped to 1 - 1e-8, loss = T^2 (-ln 2 + ln(1e8)/2 + 5e-9) = 34.068773
    z_s = torch.tensor([[40.0]], dtype=torch.float64, requires_grad=True)
    loss = binary_kl_norm(z_s, torch.zeros(1, 1, dtype=torch.float64), 2.0, "official")
    loss.backward()
    assert loss.item() == pytest.approx(4 * (-math.log(2) + 0.5 * math.log(1e8)), abs=1e-6)
    assert z_s.grad.item() == 0.0


def test_unknown_clamp_is_rejected():
    with pytest.raises(ValueError, match="clamp must be one of"):
        binary_kl(torch.zeros(1, 1), torch.zeros(1, 1), 2.0, "clip")
