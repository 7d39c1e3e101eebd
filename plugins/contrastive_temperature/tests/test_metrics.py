"""Uniformity, tolerance and penalty entropy pinned by hand (spec correctness test 5)."""

import math

import pytest
import torch
from latentzoo.errors import UserError
from latentzoo_contrastive_temperature.metrics import (
    PenaltyEntropyConfig,
    ToleranceConfig,
    UniformityConfig,
    alignment_value,
    penalty_entropy_metric,
    tolerance,
    tolerance_value,
    uniformity,
    uniformity_value,
)

E1, E2 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])


def test_uniformity_by_hand():
    assert uniformity_value(torch.stack([E1, -E1])) == pytest.approx(-8.0)  # ‖u − v‖² = 4, t = 2
    assert uniformity_value(torch.stack([E1, E1])) == pytest.approx(0.0)
    # e1, e2, −e1: squared distances 2, 4, 2 -> log((2e^-4 + e^-8)/3) = -4.396349
    assert uniformity_value(torch.stack([E1, E2, -E1])) == pytest.approx(-4.396349, abs=1e-6)
    # t = 1: log((2e^-2 + e^-4)/3)
    assert uniformity_value(torch.stack([E1, E2, -E1]), t=1.0) == pytest.approx(
        math.log((2 * math.exp(-2) + math.exp(-4)) / 3), abs=1e-9)


def test_uniformity_normalises_unless_told_not_to():
    points = torch.stack([3 * E1, -0.5 * E1])
    assert uniformity_value(points) == pytest.approx(-8.0)
    # raw (official uniform_loss): ‖(3,0) − (−.5,0)‖² = 12.25 -> −24.5
    assert uniformity_value(points, normalize=False) == pytest.approx(-24.5)


def test_uniformity_of_one_point_is_nan():
    assert math.isnan(uniformity_value(E1[None]))


def test_tolerance_by_hand():
    # class 0: e1, e2 (cos 0); class 1: e1, e1 (cos 1); class 2: one sample, skipped
    z = torch.stack([E1, E2, E1, E1, E2])
    labels = torch.tensor([0, 0, 1, 1, 2])
    assert tolerance_value(z, labels) == pytest.approx(0.5)
    # three members e1, e1, e2: ordered pairs 2 × 1 + 4 × 0 over 6 -> 1/3 (pooled over pairs)
    assert tolerance_value(torch.stack([E1, E1, E2]), torch.tensor([0, 0, 0])) == pytest.approx(1 / 3)
    assert tolerance_value(torch.stack([E1, 2 * E1, E2, E2]), torch.tensor([0, 0, 1, 1])) == pytest.approx(1.0)


def test_tolerance_without_pairs_is_nan():
    assert math.isnan(tolerance_value(torch.stack([E1, E2]), torch.tensor([0, 1])))


def test_alignment_official_definition():
    # rows: ‖(1,0) − (0,1)‖ = √2 -> 2; ‖0‖ -> 0; mean 1 (α = 2); α = 1: (√2 + 0)/2
    x, y = torch.stack([E1, E1]), torch.stack([E2, E1])
    assert alignment_value(x, y) == pytest.approx(1.0)
    assert alignment_value(x, y, alpha=1.0) == pytest.approx(math.sqrt(2) / 2)


class FakeEvaluator:
    def __init__(self, z, model=None, output=None, labels=None):
        self.z, self.model, self.output, self._labels = z, model, output, labels

    def features(self):
        return self.z

    def predict(self):
        return self.output

    def labels(self):
        return self._labels


def test_penalty_entropy_metric_by_hand():
    # anchors e1, e2, −e1; negatives of e1: e2 (0), −e1 (−1); τ = 1: r = softmax(0, −1)
    z = torch.stack([E1, E2, -E1])
    metric = penalty_entropy_metric(PenaltyEntropyConfig(temperature=1.0), None)
    r = [1 / (1 + math.exp(-1)), math.exp(-1) / (1 + math.exp(-1))]
    h_outer = -sum(p * math.log(p) for p in r)  # e1 and −e1 (mirror images)
    h_middle = math.log(2)  # e2: both negatives at cosine 0
    assert metric(FakeEvaluator(z))["penalty_entropy"] == pytest.approx((2 * h_outer + h_middle) / 3)


def test_penalty_entropy_metric_uses_the_recorded_temperature():
    z = torch.stack([E1, E2, -E1])
    model = torch.nn.Linear(1, 1)
    model.contrastive_temperature = 1.0
    metric = penalty_entropy_metric(PenaltyEntropyConfig(), None)
    explicit = penalty_entropy_metric(PenaltyEntropyConfig(temperature=1.0), None)
    assert metric(FakeEvaluator(z, model)) == explicit(FakeEvaluator(z))
    with pytest.raises(UserError, match="temperature"):
        metric(FakeEvaluator(z, torch.nn.Linear(1, 1)))


def test_metrics_read_embed_or_forward():
    # embed (pre-head): antipodal -> U = -8, T = -1; forward (post-head): identical -> U = 0, T = 1
    evaluator = FakeEvaluator(torch.stack([E1, -E1]), output=torch.stack([E2, E2]), labels=torch.tensor([0, 0]))
    assert uniformity(UniformityConfig(), None)(evaluator) == {"uniformity": pytest.approx(-8.0)}
    head = uniformity(UniformityConfig(features="forward", prefix="head_"), None)(evaluator)
    assert head == {"head_uniformity": pytest.approx(0.0)}
    assert tolerance(ToleranceConfig(), None)(evaluator)["tolerance"] == pytest.approx(-1.0)
    assert tolerance(ToleranceConfig(features="forward"), None)(evaluator)["tolerance"] == pytest.approx(1.0)
