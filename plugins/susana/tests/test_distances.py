"""Prototypes, logits and the Proto-Triplet loss against values computed by hand."""

import pytest
import torch
from latentzoo_susana.distances import (
    proto_logits,
    proto_triplet_loss,
    prototypes,
    smooth_distances,
    squared_distances,
)


def test_prototypes_are_support_means_in_any_order():
    support = torch.tensor([[0.0, 0.0], [0.0, 4.0], [2.0, 0.0], [0.0, 6.0]])
    labels = torch.tensor([0, 1, 0, 1])
    assert torch.allclose(prototypes(support, labels, 2), torch.tensor([[1.0, 0.0], [0.0, 5.0]]))


def test_logits_are_minus_squared_distance_over_temperature():
    query = torch.tensor([[1.0, 1.0]])
    protos = torch.tensor([[1.0, 0.0], [0.0, 5.0]])
    # ||(1,1)-(1,0)||² = 1, ||(1,1)-(0,5)||² = 1 + 16 = 17; T = 2
    assert torch.allclose(proto_logits(query, protos, 2.0), torch.tensor([[-0.5, -8.5]]))


def test_smooth_distance_adds_1e6_under_the_root():
    a, b = torch.zeros(1, 2, dtype=torch.float64), torch.tensor([[3.0, 4.0]], dtype=torch.float64)
    assert smooth_distances(a, b).item() == pytest.approx((25 + 1e-6) ** 0.5, abs=1e-12)
    assert smooth_distances(a, a).item() == pytest.approx(1e-3, abs=1e-12)  # sqrt(1e-6)


def test_gram_expansion_matches_explicit_difference_in_float64():
    x = torch.tensor([[0.0, 1.0], [2.0, 2.0], [2.0, 2.0]], dtype=torch.float64)
    expected = torch.tensor([[0.0, 5.0, 5.0], [5.0, 0.0, 0.0], [5.0, 0.0, 0.0]], dtype=torch.float64)
    assert torch.allclose(squared_distances(x, x), expected)
    assert torch.allclose(squared_distances(x, x, exact=False), expected, atol=1e-12)


def test_proto_triplet_spec_case():
    # spec test 1: query (0,0); prototypes (1,0) [true], (0,1.2), (3,0):
    # max(1 - 1.2 + 0.5, 0) = 0.3
    query = torch.tensor([[0.0, 0.0]])
    protos = torch.tensor([[1.0, 0.0], [0.0, 1.2], [3.0, 0.0]])
    assert proto_triplet_loss(query, torch.tensor([0]), protos, 0.5).item() == pytest.approx(0.3, abs=1e-5)
    protos[1] = torch.tensor([0.0, 2.0])  # nearest negative now (0,2): 1 - 2 + 0.5 < 0
    assert proto_triplet_loss(query, torch.tensor([0]), protos, 0.5).item() == 0.0


def test_proto_triplet_averages_over_queries_and_uses_each_queries_own_class():
    queries = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    protos = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    # q0 (class 0): d+ = 1, d- = 2 -> max(1 - 2 + 0.5, 0) = 0
    # q1 (class 0): d+ = 2, d- = 1 -> 2 - 1 + 0.5 = 1.5;  mean = 0.75
    loss = proto_triplet_loss(queries, torch.tensor([0, 0]), protos, 0.5)
    assert loss.item() == pytest.approx(0.75, abs=1e-5)
    # the same queries labelled (1, 1): q0: 2 - 1 + 0.5 = 1.5; q1: 1 - 2 + 0.5 -> 0
    assert proto_triplet_loss(queries, torch.tensor([1, 1]), protos, 0.5).item() == pytest.approx(0.75, abs=1e-5)
