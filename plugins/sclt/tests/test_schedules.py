"""Curriculum, grid, index distribution and adaptive c (spec "Correctness tests" 2-3)."""

import math

import numpy as np
import pytest
from latentzoo_sclt.schedules import (
    adaptive_c,
    fit_c_schedule,
    index_probabilities,
    num_points,
    sigma_grid,
    stage_length,
)


def test_curriculum_values():
    assert stage_length(4000, 10, 1280) == 500  # ⌊4000/(log2 128 + 1)⌋
    assert [num_points(k, 4000, 10, 1280) for k in (0, 499, 500, 3500)] == [11, 11, 21, 1281]
    assert stage_length(4000, 10, 160) == 800  # the small-scale K′
    # s1/s0 = 15: the log2 is not floored: ⌊4000/(3.906891 + 1)⌋ = ⌊815.18⌋
    assert stage_length(4000, 10, 150) == 815


def test_grid_ends_and_probabilities():
    sigmas = sigma_grid(11)
    assert sigmas[0].item() == pytest.approx(80.0)
    assert sigmas[-1].item() == pytest.approx(0.002)
    assert bool((sigmas[1:] < sigmas[:-1]).all())
    p = index_probabilities(sigmas)
    assert len(p) == 10 and p.sum().item() == pytest.approx(1.0, abs=1e-6) and bool((p > 0).all())


def test_index_probabilities_two_intervals_by_hand():
    # σ = (e^2, e^-1.1, e^-4.2) with P_m = −1.1, P_s = 2: erf values at
    # (2 + 1.1)/(2√2) = 1.096016 -> 0.878858; 0 -> 0; (−4.2 + 1.1)/(2√2) -> −0.878858
    # so both intervals carry equal mass: p = (0.5, 0.5)
    import torch

    sigmas = torch.tensor([math.exp(2.0), math.exp(-1.1), math.exp(-4.2)])
    assert index_probabilities(sigmas).tolist() == pytest.approx([0.5, 0.5], abs=1e-6)


@pytest.mark.parametrize("steps, expected", [(20, 0.013635), (80, 2.7688e-3), (640, 2.5336e-4),
                                             (1280, 1.1417e-4)])
def test_adaptive_c_listed_values(steps, expected):
    assert adaptive_c(steps + 1, s0=10, dim=16) == pytest.approx(expected, rel=1e-4)


def test_adaptive_c_first_stage():
    assert adaptive_c(11, s0=10, dim=16) == 0.00054 * 4.0  # official: 0.00054·√D exactly
    assert adaptive_c(11, s0=10, dim=16, first_stage="formula") == pytest.approx(0.030259, rel=1e-4)


def test_fit_c_schedule_recovers_a_power_law():
    steps = np.array([10, 20, 40, 80, 160])
    std = np.exp(-1.15 * np.log(steps) - 0.85)
    slope, intercept = fit_c_schedule(steps, std)
    assert slope == pytest.approx(-1.15) and intercept == pytest.approx(-0.85)
    with pytest.raises(ValueError):
        fit_c_schedule(np.array([10]), np.array([0.1]))
