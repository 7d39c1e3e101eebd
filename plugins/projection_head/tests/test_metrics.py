"""Feature weights (spec test 5, root law by hand) and the pre/post probes."""

import pytest
import torch
from torch import nn

from latentzoo.data import DataInfo, DataSplits
from latentzoo.errors import UserError
from latentzoo_projection_head.metrics import (FeatureWeightsConfig, LayerProbeConfig, balance_gap,
                                               feature_weight_matrix, feature_weights, layer_probe,
                                               root_law_error, spread)


class FakeEvaluator:
    """What the metrics use of latentzoo.evaluation.Evaluator, in one process."""

    def __init__(self, model, data, split="test"):
        self.model, self.data, self.split = model, data, split

    def labels(self, split=None):
        return self.data.split(split or self.split)["y"]

    def tensors(self, split=None):
        return self.data.split(split or self.split)

    def predict(self, fn, split=None, model=None):
        return fn(model or self.model, self.tensors(split)).detach()

    def features(self, split=None, model=None):
        model = model or self.model
        return model.embed(self.tensors(split)["x"]).detach()


def test_identity_has_unit_weights():
    # spec test 5: feature_weights of the identity map is 1 for every feature
    assert feature_weight_matrix([torch.eye(4)], 4).tolist() == [[1.0] * 4]


def test_root_law_and_spread_by_hand():
    # balanced: W1 = W2 = diag(1, 2) -> w^(1) = (1, 2), w^(2) = (1, 4); sqrt law exact
    w = torch.diag(torch.tensor([1.0, 2.0]))
    matrix = feature_weight_matrix([w, w], 2)
    assert matrix.tolist() == [[1.0, 2.0], [1.0, 4.0]]
    keep = torch.tensor([True, True])
    assert root_law_error(matrix, keep) == pytest.approx(0.0)
    assert spread(matrix[0], keep) == pytest.approx(2.0) and spread(matrix[1], keep) == pytest.approx(4.0)
    assert balance_gap([w, w]) == pytest.approx(0.0)
    # unbalanced: W2 = diag(1, 4) -> w^(2) = (1, 8); 2 / sqrt(8) = 0.7071 -> error 0.2929
    matrix = feature_weight_matrix([w, torch.diag(torch.tensor([1.0, 4.0]))], 2)
    assert root_law_error(matrix, keep) == pytest.approx(1 - 2 / 8**0.5)
    # ‖W1W1ᵀ - W2ᵀW2‖_max = |4 - 16| = 12
    assert balance_gap([w, torch.diag(torch.tensor([1.0, 4.0]))]) == pytest.approx(12.0)


class Stack(nn.Module):
    def __init__(self, weights):
        super().__init__()
        self.weights = weights

    def layer_weights(self):
        return self.weights


def _data(x, y, extras=None):
    return DataSplits({"train": {"x": x, "y": y}, "test": {"x": x, "y": y}},
                      DataInfo((x.shape[1],), 2, extras or {}))


def test_feature_weights_metric_counts_zeroed_features():
    # W1 = diag(1, 0.5, 0), W2 = diag(1, 0.25, 0): w^(2) = (1, 0.125, 0) -> feature 3 zeroed
    w1 = torch.diag(torch.tensor([1.0, 0.5, 0.0]))
    w2 = torch.diag(torch.tensor([1.0, 0.25, 0.0]))
    data = _data(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long), {"num_features": 3})
    values = feature_weights(FeatureWeightsConfig(per_feature=True), None)(FakeEvaluator(Stack([w1, w2]), data))
    values.pop("figures")
    assert values["zeroed_features"] == 1.0
    assert values["spread_l1"] == pytest.approx(2.0) and values["spread_l2"] == pytest.approx(8.0)
    # 0.5 / sqrt(0.125) = 1.4142 -> error 0.4142
    assert values["root_law_error"] == pytest.approx(2**0.5 - 1)
    assert values["w2_1"] == pytest.approx(0.125)


def test_feature_weights_needs_a_linear_model():
    data = _data(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long))
    with pytest.raises(UserError, match="layer_weights"):
        feature_weights(FeatureWeightsConfig(), None)(FakeEvaluator(nn.Linear(3, 3), data))


class DropFirst(nn.Module):
    """embed(x) = x; forward(x) = x with the first coordinate zeroed (the head discards it)."""

    def embed(self, x):
        return x

    def forward(self, x):
        return x * torch.tensor([0.0, 1.0, 1.0])


def _sign_data(n=600, seed=0):
    g = torch.Generator().manual_seed(seed)
    z = torch.randint(0, 2, (n, 3), generator=g).float() * 2 - 1
    return _data(z, (z[:, 0] > 0).long())


@pytest.mark.parametrize("probe", ["knn", "ridge", "logistic"])
def test_probe_before_and_after_the_head(probe):
    # h = x holds the label exactly (100%); z has lost it (chance, about 50%)
    values = layer_probe(LayerProbeConfig(probe=probe, num_labels=200), None)(
        FakeEvaluator(DropFirst(), _sign_data()))
    assert values[f"{probe}_pre"] >= 0.99                      # spec test 5 (ridge on h = x)
    assert 0.35 < values[f"{probe}_post"] < 0.65
    assert values[f"{probe}_gap"] == pytest.approx(values[f"{probe}_pre"] - values[f"{probe}_post"])


def test_logistic_probe_on_h_equals_builtin_linear_probe():
    from latentzoo.builtin.metrics import LinearProbeConfig, linear_probe

    g = torch.Generator().manual_seed(1)
    x = torch.randn(300, 4, generator=g)
    y = (x[:, 0] + 0.5 * torch.randn(300, generator=g) > 0).long()
    evaluator = FakeEvaluator(DropFirst(), _data(x, y))
    ours = layer_probe(LayerProbeConfig(probe="logistic", representation="pre", num_labels=0), None)(evaluator)
    assert ours["logistic_pre"] == linear_probe(LinearProbeConfig(), None)(evaluator)["linear_probe"]


def test_probe_pre_needs_embed():
    data = _sign_data(50)
    with pytest.raises(UserError, match="embed"):
        layer_probe(LayerProbeConfig(num_labels=10), None)(FakeEvaluator(nn.Identity(), data))
