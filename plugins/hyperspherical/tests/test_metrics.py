"""Joint and disjoint novel-class metrics (spec test 4) and the confidence interval."""

import math

import pytest
import torch
from latentzoo_hyperspherical.metrics import (
    ConfidenceConfig,
    DisjointConfig,
    JointConfig,
    disjoint_acc,
    draw_support_query,
    joint_acc,
    mean_ci95,
    softmax_confidence,
)
from latentzoo_hyperspherical.models import EmbeddingNet, HypersphereClassifier
from latentzoo_hyperspherical.novel import disjoint_predictions, prototypes


def test_mean_ci95_hand_value():
    # values (0, 1, 1, 0): mean .5, sample std sqrt(1/3), half-width 1.96·sqrt(1/3)/2
    mean, ci = mean_ci95(torch.tensor([0.0, 1.0, 1.0, 0.0]))
    assert mean == pytest.approx(0.5)
    assert ci == pytest.approx(1.96 * math.sqrt(1 / 3) / 2)


def test_prototypes_hand_values():
    features = torch.tensor([[2.0, 0.0], [0.0, 1.0], [0.0, 3.0]])
    labels = torch.tensor([0, 0, 1])
    cosine = prototypes(features, labels, torch.tensor([0, 1]), "cosine")
    # class 0: mean of units (1, 0), (0, 1) = (.5, .5) -> (1, 1)/√2; class 1: (0, 1)
    assert torch.allclose(cosine, torch.tensor([[1 / math.sqrt(2), 1 / math.sqrt(2)], [0.0, 1.0]]))
    euclidean = prototypes(features, labels, torch.tensor([0, 1]), "euclidean")
    assert torch.allclose(euclidean, torch.tensor([[1.0, 0.5], [0.0, 3.0]]))
    # query (0.9, 0.1): cos to (1,1)/√2 ≈ .78 > cos to (0,1) ≈ .11 -> class 0
    predicted = disjoint_predictions(features, labels, torch.tensor([[0.9, 0.1]]), torch.tensor([0, 1]))
    assert predicted.tolist() == [0]


def test_support_and_query_are_disjoint_and_reproducible():
    members = [torch.arange(0, 10), torch.arange(10, 20)]
    s1, q1 = draw_support_query(members, 3, 0, torch.Generator().manual_seed(5))
    s2, q2 = draw_support_query(members, 3, 0, torch.Generator().manual_seed(5))
    assert torch.equal(s1, s2) and torch.equal(q1, q2)
    assert len(s1) == 6 and len(q1) == 14
    assert not set(s1.tolist()) & set(q1.tolist())
    assert sorted(s1.tolist() + q1.tolist()) == list(range(20))


def clustered(num_classes: int, per_class: int, dim: int, seed: int, offset: int = 0):
    """Tight clusters around the basis directions e_{offset}, e_{offset+1}, ... (spec test 4)."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(num_classes).repeat_interleave(per_class)
    x = torch.eye(dim)[labels + offset] * 3.0 + 0.01 * torch.randn(len(labels), dim, generator=generator)
    return x, labels + offset


def identity_hypersphere(dim: int, classes: int) -> HypersphereClassifier:
    model = HypersphereClassifier(dim, (), dim, classes, scale=10.0)
    with torch.no_grad():
        model.encoder[0].weight.copy_(torch.eye(dim))
        model.encoder[0].bias.zero_()
        model.classifier.weight.copy_(torch.eye(dim)[:classes])
    return model


@pytest.fixture
def separated_splits():
    dim = 6
    train_x, train_y = clustered(3, 8, dim, 0)
    test_x, test_y = clustered(3, 5, dim, 1)
    novel_x, novel_y = clustered(3, 20, dim, 2, offset=3)
    return {"train": {"x": train_x, "y": train_y}, "test": {"x": test_x, "y": test_y},
            "novel": {"x": novel_x, "y": novel_y}}


def test_well_separated_clusters_are_classified_perfectly(separated_splits, evaluator_for):
    """Spec test 4: 100% joint and disjoint accuracy from a single shot."""
    evaluator = evaluator_for(identity_hypersphere(6, 3), separated_splits, 3)
    joint = joint_acc(JointConfig(shots=1, draws=5), None)(evaluator)
    assert joint["joint_acc_1s"] == 1.0
    assert joint["joint_base_acc_1s"] == 1.0 and joint["joint_novel_acc_1s"] == 1.0
    disjoint = disjoint_acc(DisjointConfig(ways=3, shots=1, queries=5, episodes=30), None)(evaluator)
    assert disjoint == {"disjoint_acc_3w1s": 1.0, "disjoint_acc_3w1s_ci95": 0.0}


def test_joint_for_embedding_nets_uses_training_prototypes(separated_splits, evaluator_for):
    model = EmbeddingNet(6, (), 6)
    with torch.no_grad():
        model.encoder[0].weight.copy_(torch.eye(6))
        model.encoder[0].bias.zero_()
    evaluator = evaluator_for(model, separated_splits, 3)
    for distance in ("cosine", "euclidean"):
        joint = joint_acc(JointConfig(shots=1, draws=3, distance=distance), None)(evaluator)
        assert joint["joint_acc_1s"] == 1.0


def test_joint_appends_after_the_base_rows(separated_splits, evaluator_for):
    """Base rows permuted (row c points at cluster c + 1 mod 3): every base item goes to the
    wrong base class, so the metric really uses the model's own first C rows."""
    model = identity_hypersphere(6, 3)
    with torch.no_grad():
        model.classifier.weight.copy_(torch.eye(6)[[1, 2, 0]])
    evaluator = evaluator_for(model, separated_splits, 3)
    joint = joint_acc(JointConfig(shots=1, draws=2), None)(evaluator)
    assert joint["joint_base_acc_1s"] == 0.0


def test_episodes_do_not_depend_on_the_model(separated_splits, evaluator_for):
    """The same seed gives the same episodes: identical numbers twice, different ones with
    another seed (on unstructured random features, where accuracy varies by episode)."""
    torch.manual_seed(0)
    model = HypersphereClassifier(6, (4,), 3, 3)
    separated_splits = {**separated_splits,
                        "novel": {"x": torch.randn(60, 6), "y": torch.arange(3).repeat(20) + 3}}
    config = DisjointConfig(ways=3, shots=1, queries=5, episodes=40)
    first = disjoint_acc(config, None)(evaluator_for(model, separated_splits, 3))
    second = disjoint_acc(config, None)(evaluator_for(model, separated_splits, 3))
    other = disjoint_acc(DisjointConfig(ways=3, shots=1, queries=5, episodes=40, seed=1), None)(
        evaluator_for(model, separated_splits, 3))
    assert first == second
    assert first != other


def test_softmax_confidence_hand_value(evaluator_for):
    # logits (0, log 3): p = (1/4, 3/4); label 1 -> NLL −log(3/4); label 0 -> −log(1/4)
    x = torch.tensor([[0.0, math.log(3.0)], [0.0, math.log(3.0)]])
    splits = {"train": {"x": x, "y": torch.tensor([1, 0])}, "test": {"x": x, "y": torch.tensor([1, 0])}}
    evaluator = evaluator_for(torch.nn.Identity(), splits, 2)
    values = softmax_confidence(ConfidenceConfig(), None)(evaluator)
    assert values["train_nll"] == pytest.approx((-math.log(0.75) - math.log(0.25)) / 2)
    assert values["train_confidence"] == pytest.approx(0.75)
