"""Builtin metrics against values computed by hand."""

import math

import numpy as np
import torch
from latentzoo.builtin.frechet import feature_net, frechet_distance
from latentzoo.builtin.metrics import sliced_wasserstein_distance, top1
from latentzoo.training import lr_factor


def test_top1():
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0], [0.0, 1.0]])
    assert top1(logits, torch.tensor([0, 1, 1, 1])) == 0.75


def test_sliced_wasserstein_of_a_shift_is_the_projected_shift():
    # b = a + c: every 1-D projection shifts by θ·c, so W2²(θ) = (θ·c)², and for unit θ uniform
    # on the circle the mean of (θ·c)² is |c|²/2 in 2-D.
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(500, 2, generator=generator)
    c = torch.tensor([3.0, 4.0])
    value = sliced_wasserstein_distance(a, a + c, 20000, torch.Generator().manual_seed(1))
    assert abs(value - math.sqrt(25 / 2)) < 0.05
    assert sliced_wasserstein_distance(a, a, 16, generator) == 0.0


def test_frechet_distance_of_gaussians_matches_the_closed_form():
    # 1-D: (μ1-μ2)² + σ1² + σ2² - 2σ1σ2 = (μ1-μ2)² + (σ1-σ2)²
    value = frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-1.0]), np.array([[1.0]]))
    assert abs(value - (4 + 1)) < 1e-9
    sigma = np.diag([1.0, 2.0])
    assert abs(frechet_distance(np.zeros(2), sigma, np.zeros(2), sigma)) < 1e-9


def test_shipped_feature_net_classifies_digits():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    logits = feature_net()(torch.tensor(bunch.data / 16.0, dtype=torch.float32))
    assert (logits.argmax(1).numpy() == bunch.target).mean() > 0.98


def test_learning_rate_schedules():
    assert [round(lr_factor(s, 10, 2, "constant"), 3) for s in range(3)] == [0.5, 1.0, 1.0]
    assert lr_factor(2, 10, 2, "cosine") == 1.0
    assert abs(lr_factor(6, 10, 2, "cosine") - 0.5) < 1e-12  # halfway through the decay
    assert abs(lr_factor(6, 10, 2, "linear") - 0.5) < 1e-12
    assert [lr_factor(s, 10, 0, "step", (3, 6), 0.5) for s in (0, 2, 3, 5, 6, 9)] == [1, 1, 0.5, 0.5, 0.25, 0.25]


def test_teachers_stay_in_eval_mode_and_ema_moves_towards_the_model():
    from latentzoo.ema import EMA, Frozen

    student = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5))
    holder = torch.nn.ModuleDict({"ema": EMA(student, 0.75), "frozen": Frozen(student)})
    holder.train()
    assert not holder["ema"].module.training and not holder["frozen"].module.training
    assert not any(p.requires_grad for p in holder.parameters())
    with torch.no_grad():
        start = holder["ema"].module[0].weight.clone()
        student[0].weight.add_(4.0)
    holder["ema"].update(student)
    # θ_ema = 0.75·θ_ema + 0.25·(θ_ema + 4) = θ_ema + 1
    assert torch.allclose(holder["ema"].module[0].weight, start + 1.0)
