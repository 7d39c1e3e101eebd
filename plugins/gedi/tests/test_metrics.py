"""Metrics on hand-made logits (spec correctness test 5 and the collapse / OOD detectors)."""

import math

import pytest
import torch
from latentzoo_gedi.metrics import NMIConfig, OODConfig, UsageConfig, cluster_usage, nmi, ood_auroc, usage_entropy
from torch import nn


class Lookup(nn.Module):
    """Logits stored in column 2.. of x (x = [point, logits]): metrics see model(x)."""

    def forward(self, x):
        return x[:, 2:]


def _splits(points, logits, labels):
    x = torch.cat([points, logits], 1)
    return {"train": {"x": x, "y": labels}, "test": {"x": x, "y": labels}}


def test_nmi_of_a_permuted_perfect_clustering_is_one(evaluator_for):
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    logits = torch.nn.functional.one_hot((labels + 1) % 3, 3).float()  # cluster = label + 1 mod 3
    ev = evaluator_for(Lookup(), _splits(torch.zeros(6, 2), logits, labels), 3)
    values = nmi(NMIConfig(), None)(ev)
    assert values["nmi"] == pytest.approx(1.0) and values["ari"] == pytest.approx(1.0)


def test_nmi_of_a_constant_assignment_is_zero(evaluator_for):
    labels = torch.tensor([0, 1, 0, 1])
    ev = evaluator_for(Lookup(), _splits(torch.zeros(4, 2), torch.tensor([[1.0, 0.0]] * 4), labels), 2)
    assert nmi(NMIConfig(prefix="p_"), None)(ev)["p_nmi"] == pytest.approx(0.0, abs=1e-12)


def test_usage_entropy_by_hand():
    assert usage_entropy(torch.zeros(3, 2)) == pytest.approx(math.log(2))
    assert usage_entropy(torch.tensor([[300.0, 0.0], [300.0, 0.0]])) == pytest.approx(0.0, abs=1e-12)
    # mean of softmax rows [¼, ¾] and [¾, ¼] is uniform
    ln3 = math.log(3)
    assert usage_entropy(torch.tensor([[0.0, ln3], [ln3, 0.0]])) == pytest.approx(math.log(2))
    # mean [1/2, 1/4, 1/4]: H = 1.5 ln 2
    rows = torch.log(torch.tensor([[1.0, 1e-12, 1e-12], [1e-12, 0.5, 0.5]]))
    assert usage_entropy(rows) == pytest.approx(1.5 * math.log(2), abs=1e-9)


def test_cluster_usage_metric(evaluator_for):
    labels = torch.tensor([0, 1, 0, 1])
    logits = torch.tensor([[50.0, 0.0]] * 4)
    values = cluster_usage(UsageConfig(), None)(evaluator_for(Lookup(), _splits(torch.zeros(4, 2), logits, labels), 2))
    assert values["usage_entropy"] < 1e-10 and values["clusters_used"] == 1.0


class Bump(nn.Module):
    """One cluster, logit −|x|²: −E(x) is highest at the origin."""

    def forward(self, x):
        return -(x ** 2).sum(1, keepdim=True)


def test_ood_auroc_is_one_when_data_sit_at_the_energy_minimum(evaluator_for):
    train = torch.tensor([[-1.0, -1.0], [1.0, 1.0]])
    test = torch.zeros(20, 2)
    splits = {"train": {"x": train, "y": torch.tensor([0, 1])}, "test": {"x": test, "y": torch.zeros(20, dtype=torch.long)}}
    values = ood_auroc(OODConfig(num_noise=200, box_margin=0.0), None)(evaluator_for(Bump(), splits, 2))
    assert values["ood_auroc"] == pytest.approx(1.0)


def test_ood_auroc_is_one_half_for_a_constant_energy(evaluator_for):
    splits = {"train": {"x": torch.randn(10, 2), "y": torch.zeros(10, dtype=torch.long)},
              "test": {"x": torch.randn(10, 2), "y": torch.zeros(10, dtype=torch.long)}}

    class Constant(nn.Module):
        def forward(self, x):
            return torch.zeros(len(x), 2)

    assert ood_auroc(OODConfig(), None)(evaluator_for(Constant(), splits, 2))["ood_auroc"] == pytest.approx(0.5)
