"""Losses against hand-computed values."""

import math

import pytest
import torch
from latentzoo.errors import UserError
from latentzoo_hyperspherical.losses import (
    NormalizedSoftmaxCE,
    NormalizedSoftmaxConfig,
    PrototypicalConfig,
    PrototypicalLoss,
    TripletConfig,
    TripletLoss,
    triplet_loss,
)
from latentzoo_hyperspherical.models import HypersphereClassifier, PlainSoftmaxClassifier
from torch import nn


def test_normalized_softmax_ce_hand_value_and_projection():
    model = HypersphereClassifier(2, (), 2, 2, scale=1.0)
    with torch.no_grad():
        model.encoder[0].weight.copy_(torch.eye(2))
        model.encoder[0].bias.zero_()
        model.classifier.weight.copy_(torch.eye(2))
    loss = NormalizedSoftmaxCE(NormalizedSoftmaxConfig())
    # z = (2, 0) -> ẑ = (1, 0); logits (1, 0); CE for y = 0: log(1 + e^-1)
    value = loss(model, {"x": torch.tensor([[2.0, 0.0]]), "y": torch.tensor([0])})
    assert value.item() == pytest.approx(math.log(1 + math.exp(-1)), abs=1e-6)
    with torch.no_grad():
        model.classifier.weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 3.0]]))
    loss.after_step(model=model, step=1)
    assert torch.allclose(model.classifier.weight, torch.tensor([[2 / (2 + 1e-7), 0.0], [0.0, 3 / (3 + 1e-7)]]))


def test_normalized_softmax_ce_rejects_plain_model():
    loss = NormalizedSoftmaxCE(NormalizedSoftmaxConfig())
    with pytest.raises(UserError, match="hypersphere_classifier"):
        loss(PlainSoftmaxClassifier(2, (), 2, 2), {"x": torch.zeros(1, 2), "y": torch.tensor([0])})


# 1-D embeddings e = (0, 0.1, 0.25, 1), labels (0, 0, 1, 1), α = 0.2, squared distances:
# D01 = .01, D02 = .0625, D03 = 1, D12 = .0225, D13 = .81, D23 = .5625. Of the 8 valid triplets
# (a, p, n) the ones with positive loss D_ap − D_an + α are (0,1,2): .1475, (1,0,2): .1875
# (both semi-hard: D_ap < D_an) and (2,3,0): .7, (2,3,1): .74 (hard: D_an < D_ap).
EMBEDDINGS = torch.tensor([[0.0], [0.1], [0.25], [1.0]])
LABELS = torch.tensor([0, 0, 1, 1])


def test_triplet_semi_hard_hand_value():
    loss, fraction = triplet_loss(EMBEDDINGS, LABELS, 0.2, "semi_hard")
    assert loss.item() == pytest.approx((0.1475 + 0.1875) / 2, abs=1e-6)
    assert fraction.item() == pytest.approx(2 / 8)


def test_triplet_batch_all_hand_value():
    loss, fraction = triplet_loss(EMBEDDINGS, LABELS, 0.2, "batch_all")
    assert loss.item() == pytest.approx((0.1475 + 0.1875 + 0.7 + 0.74) / 4, abs=1e-6)
    assert fraction.item() == pytest.approx(4 / 8)


def test_triplet_euclidean_distance_hand_value():
    # unsquared: D01 = .1, D02 = .25, D12 = .15, D03 = 1, D13 = .9, D23 = .75; α = 0.2.
    # semi-hard: (0,1,2): .1 − .25 + .2 = .05; (1,0,2): .1 − .15 + .2 = .15;
    # (3,2,1): .75 − .9 + .2 = .05 (.9 > .75: semi-hard here, unlike with squared distances)
    loss, fraction = triplet_loss(EMBEDDINGS, LABELS, 0.2, "semi_hard", squared=False)
    assert loss.item() == pytest.approx((0.05 + 0.15 + 0.05) / 3, abs=1e-6)
    assert fraction.item() == pytest.approx(3 / 8)


def test_triplet_loss_module_normalises_and_has_gradient():
    module = TripletLoss(TripletConfig(mining="batch_all"))
    encoder = nn.Linear(3, 2)
    out = module(encoder, {"x": torch.randn(6, 3), "y": torch.tensor([0, 0, 1, 1, 2, 2])})
    out["loss"].backward()
    assert encoder.weight.grad is not None
    # already separated classes: no triplet is mined, loss 0 (still differentiable)
    far = triplet_loss(torch.tensor([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]]), torch.tensor([0, 0, 1]), 0.2)
    assert far[0].item() == 0.0


def test_prototypical_loss_hand_value():
    # 2-way 1-shot 1-query in 1-D: c_0 = 0, c_1 = 2, query of class 0 at 0.5:
    # d = (0.25, 2.25), logits (−0.25, −2.25), CE = log(1 + e^−2)
    batch = {"x": torch.tensor([[0.0], [2.0], [0.5]]), "y": torch.tensor([0, 1, 0]),
             "support": torch.tensor([True, True, False])}
    out = PrototypicalLoss(PrototypicalConfig())(nn.Identity(), batch)
    assert out["loss"].item() == pytest.approx(math.log(1 + math.exp(-2)), abs=1e-6)
    assert out["episode_accuracy"].item() == 1.0


def test_prototypical_loss_averages_support():
    # class 0 support at 0 and 2 -> c_0 = 1; class 1 support at 5 -> c_1 = 5; query 1 (class 0)
    # d = (0, 16) -> CE = log(1 + e^−16)
    batch = {"x": torch.tensor([[0.0], [2.0], [5.0], [1.0]]), "y": torch.tensor([0, 0, 1, 0]),
             "support": torch.tensor([True, True, True, False])}
    out = PrototypicalLoss(PrototypicalConfig())(nn.Identity(), batch)
    assert out["loss"].item() == pytest.approx(math.log(1 + math.exp(-16)), abs=1e-7)


def test_prototypical_loss_needs_episodes():
    with pytest.raises(UserError, match="hyperspherical.episodes"):
        PrototypicalLoss(PrototypicalConfig())(nn.Identity(), {"x": torch.zeros(2, 1), "y": torch.tensor([0, 1])})
