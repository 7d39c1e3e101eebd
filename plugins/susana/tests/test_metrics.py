"""Few-shot metrics: CI formula, nearest-prototype accuracy, fixed episodes, paired difference."""

import pytest
import torch
from latentzoo.errors import UserError
from latentzoo_susana import metrics as M


class FakeEvaluator:
    """Features given directly; stands in for ``Evaluator`` (which gathers them in dataset order)."""

    def __init__(self, features, labels, baseline=None):
        self._features, self._labels, self.split = features, labels, "test"
        self.models = {"base": "base"} if baseline is not None else {}
        self._baseline = baseline

    def labels(self, split=None):
        return self._labels

    def features(self, split=None, model=None):
        return self._baseline if model == "base" else self._features


def test_confidence_interval_is_196_population_std_over_sqrt_n():
    mean, half = M.confidence_interval(torch.tensor([0.0, 1.0, 0.0, 1.0]))
    assert mean == 0.5 and half == pytest.approx(1.96 * 0.5 / 2)


def test_episode_accuracy_nearest_prototype():
    # 1-D features: class 0 at 0 and 1, class 1 at 10 and 3.
    features = torch.tensor([[0.0], [1.0], [10.0], [3.0]])
    support = torch.tensor([[0, 2]])  # prototypes 0 and 10
    query = torch.tensor([[1, 3]])    # query 1 -> class 0 (right), 3 -> class 0 (wrong)
    assert M.episode_accuracies(features, support, query, 2).tolist() == [0.5]


def separable(classes=5, per_class=30):
    labels = torch.arange(classes).repeat(per_class)
    return torch.nn.functional.one_hot(labels, classes).double() * 10, labels


def test_fewshot_acc_on_separable_features_is_100_with_zero_ci():
    features, labels = separable()
    config = M.FewShotAccConfig(shots=(1, 5), episodes=600, figure=True)
    values = M.fewshot_acc(config)(FakeEvaluator(features, labels))
    assert values["fewshot_acc_5w1s"] == 100.0 and values["fewshot_ci95_5w5s"] == 0.0
    assert "fewshot_accuracy" in values["figures"]


def test_same_seed_same_episodes_different_seed_different():
    torch.manual_seed(0)
    labels = torch.arange(5).repeat(30)
    features = torch.randn(150, 4)
    evaluator = FakeEvaluator(features, labels)
    def run(seed):
        return M.fewshot_acc(M.FewShotAccConfig(shots=(1,), episodes=600, seed=seed, figure=False))(evaluator)
    assert run(0) == run(0)
    assert run(0)["fewshot_acc_5w1s"] != run(1)["fewshot_acc_5w1s"]


def test_paired_difference_of_identical_models_is_zero_and_of_better_model_positive():
    torch.manual_seed(0)
    good, labels = separable()
    noisy = good + 8 * torch.randn_like(good)
    config = M.PairedConfig(baseline="base", shots=(1,), episodes=600)
    same = M.paired_fewshot_acc(config)(FakeEvaluator(noisy, labels, baseline=noisy))
    assert same["paired_diff_5w1s"] == 0.0 and same["paired_ci95_5w1s"] == 0.0
    better = M.paired_fewshot_acc(config)(FakeEvaluator(good, labels, baseline=noisy))
    assert better["paired_diff_5w1s"] > better["paired_ci95_5w1s"] > 0
    with pytest.raises(UserError, match="not among"):
        M.paired_fewshot_acc(config)(FakeEvaluator(good, labels))


def test_icnn_score_metric_and_spread_on_separable_features():
    features, labels = separable()
    evaluator = FakeEvaluator(features, labels)
    score = M.icnn_score_metric(M.ICNNScoreConfig(episodes=600))(evaluator)["icnn_score_5w1s"]
    # identical points per class: every same-class distance is sqrt(1e-6), delta = sqrt(200 + 1e-6)
    # -> lambda_sc ~ 1, other-class neighbours all at the same distance -> lambda_dc = 1, gamma = 1
    assert score == pytest.approx(1.0, abs=1e-4)
    spread = M.proto_spread(M.SpreadConfig(episodes=600))(evaluator)["spread_ratio_5w1s"]
    assert spread == pytest.approx(1e-3 / (200 + 1e-6) ** 0.5, rel=1e-3)


def test_too_few_classes_is_a_user_error():
    features, labels = separable(classes=3)
    with pytest.raises(UserError, match="3 classes"):
        M.fewshot_acc(M.FewShotAccConfig(episodes=600))(FakeEvaluator(features, labels))
