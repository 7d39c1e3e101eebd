"""Loss math pinned by hand (spec "Correctness tests" 1, 4 and a full forward pass)."""

import math

import pytest
import torch
from latentzoo_sclt.losses import (
    ConsistencyLossConfig,
    ConsistencyTrainingLoss,
    PseudoHuberLossConfig,
    cauchy,
    diffusion_loss,
    diffusion_mask,
    pseudo_huber,
)
from torch import nn


def test_robust_values_at_c1_m1():
    m = torch.tensor(1.0)
    assert cauchy(m, 1.0).item() == pytest.approx(0.405465, abs=1e-6)  # ln 1.5
    assert pseudo_huber(m, 1.0).item() == pytest.approx(0.414214, abs=1e-6)  # √2 − 1


def test_cauchy_is_quadratic_for_small_m_and_matches_official_form():
    m = torch.tensor(1e-6)
    assert cauchy(m, 1.0).item() == pytest.approx(5e-7, rel=1e-5)  # m/(2c²)
    # official: log(0.5m + c²) − 2 log c, at m = 3, c = 0.5: log(1.75) − 2 log 0.5 = 1.94591
    assert cauchy(torch.tensor(3.0), 0.5).item() == pytest.approx(1.945910, abs=1e-6)


def test_cauchy_influence_is_bounded_and_decreasing():
    grads = []
    for value in (1.0, 3.0, 100.0):
        m = torch.tensor(value, requires_grad=True)
        cauchy(m, 1.0).backward()
        grads.append(m.grad.item())
    # dρ/dm = 1/(2c² + m): 1/3, 1/5, 1/102
    assert grads == pytest.approx([1 / 3, 1 / 5, 1 / 102])


def test_diffusion_mask_for_eleven_points():
    # i ∈ {0..9}, int(0.75·11) = 8 -> {8, 9}
    index = torch.arange(10)
    assert index[diffusion_mask(index, 11)].tolist() == [8, 9]


def test_diffusion_loss_value_and_empty_selection():
    x = torch.zeros(3, 4)
    prediction = x + 0.1  # residual mean 0.01
    sigma = torch.full((3,), 0.5)  # weight 1/0.25 + 1/0.25 = 8
    mask = torch.tensor([True, False, True])
    assert diffusion_loss(prediction, x, sigma, mask).item() == pytest.approx(0.08)
    empty = diffusion_loss(prediction, x, sigma, torch.zeros(3, dtype=torch.bool))
    assert empty.item() == 0.0 and not torch.isnan(empty)


class Identity(nn.Module):
    def forward(self, x, sigma):
        return x


def _two_point_loss(config_cls, **fields):
    # s0 = s1 = 1: N = 2 points [σ_max = 80, σ_min = 0.002], so i = 0 always, Δσ = 79.998
    return ConsistencyTrainingLoss(config_cls(s0=1, s1=1, total_steps=10, **fields), None)


def test_cauchy_training_loss_forward_by_hand():
    loss = _two_point_loss(ConsistencyLossConfig, c_schedule="constant", c_constant=1.0)
    batch = {"x": torch.zeros(2, 1), "noise": torch.ones(2, 1)}
    out = loss(Identity(), batch)
    # identity f: student 80, target 0.002, m = 79.998²; log(1 + m/2)/79.998 = 0.1008921
    assert out["loss"].item() == pytest.approx(0.1008921, abs=1e-5)
    assert out["diffusion_loss"].item() == 0.0  # int(0.75·2) = 1 > i = 0


def test_pseudo_huber_training_loss_forward_by_hand():
    loss = _two_point_loss(PseudoHuberLossConfig)
    out = loss(Identity(), {"x": torch.zeros(2, 1), "noise": torch.ones(2, 1)})
    # c = 0.00054·√1; (√(79.998² + c²) − c)/79.998 = 0.99999325
    assert out["c"].item() == pytest.approx(0.00054)
    assert out["loss"].item() == pytest.approx(0.9999932, abs=1e-5)


def test_target_reuses_the_student_dropout_mask():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Dropout(0.5))

    class Wrapped(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = model

        def forward(self, x, sigma):
            return self.net(torch.ones_like(x))  # output depends on the dropout mask only

    loss = _two_point_loss(ConsistencyLossConfig, c_schedule="constant", c_constant=1.0)
    out = loss(Wrapped().train(), {"x": torch.zeros(8, 16), "noise": torch.ones(8, 16)})
    assert out["loss"].item() == 0.0  # same mask -> student == target


def test_after_step_moves_the_curriculum():
    loss = ConsistencyTrainingLoss(ConsistencyLossConfig(total_steps=4000, s0=10, s1=1280), None)
    loss.after_step(model=None, step=500)
    out = loss(Identity(), {"x": torch.zeros(4, 2)})
    assert out["points"].item() == 21.0
    assert out["c"].item() == pytest.approx(math.exp(-1.15 * math.log(20) - 0.85))


def test_config_rejects_bad_ranges():
    with pytest.raises(ValueError, match="s1 = 5 must be >= s0 = 10"):
        ConsistencyLossConfig(s0=10, s1=5)


def test_td_residual_statistics_on_the_two_point_grid():
    from latentzoo_sclt.losses import td_residual_statistics

    # N = 2: i = 0 always; identity f gives m = (80 − 0.002)²·mean(n²) = 79.998² for n = 1
    mean, std = td_residual_statistics(Identity(), torch.zeros(4, 3), 2, noise=torch.ones(4, 3))
    assert mean == pytest.approx(79.998 ** 2, rel=1e-5) and std == pytest.approx(0.0, abs=1e-3)
