"""Pooled Gaussian naive Bayes and the logistic-regression wrapper, pinned by hand-computed values."""

import math

import numpy as np
import pytest
import torch
from latentzoo.errors import UserError
from latentzoo_disc_vs_gen.classifiers import LogisticRegressionProbe, PooledGaussianNB, error_rate

# Spec test 1: class 0 = {0, 2}, class 1 = {4, 4, 4, 8}.
X_HAND = np.array([[0.0], [2.0], [4.0], [4.0], [4.0], [8.0]])
Y_HAND = np.array([0, 0, 1, 1, 1, 1])


def test_pooled_variance_by_hand():
    nb = PooledGaussianNB().fit(X_HAND, Y_HAND)
    # s²_0 = ((0-1)² + (2-1)²)/2 = 1; s²_1 = (3·1² + 3²)/4 = 3; π = (1/3, 2/3)
    assert nb.means.flatten().tolist() == [1.0, 5.0]
    assert torch.allclose(nb.variances.flatten(), torch.tensor([1.0 + 1e-9, 3.0 + 1e-9], dtype=torch.float64),
                          rtol=0, atol=1e-15)
    assert torch.allclose(nb.priors, torch.tensor([1 / 3, 2 / 3], dtype=torch.float64))
    # σ² = 1/3·1 + 2/3·3 = 7/3, ε entering once
    assert abs(nb.pooled_variance().item() - (7 / 3 + 1e-9)) < 1e-14


def test_scores_and_labels_by_hand():
    # labels 10 and 20: predict returns labels, not positions (official bug 1)
    nb = PooledGaussianNB(epsilon=0.0).fit(X_HAND, np.where(Y_HAND == 0, 10, 20))
    scores = nb.joint_log_likelihood(np.array([[3.0], [2.9]]))
    # x = 3: log(1/3) − ½·(3−1)²/(7/3) = log(1/3) − 6/7;  log(2/3) − ½·(3−5)²/(7/3) = log(2/3) − 6/7
    assert scores[0, 0].item() == pytest.approx(math.log(1 / 3) - 6 / 7, abs=1e-12)
    assert scores[0, 1].item() == pytest.approx(math.log(2 / 3) - 6 / 7, abs=1e-12)
    # x = 2.9: log(1/3) − 0.5·1.9²·3/7 vs log(2/3) − 0.5·2.1²·3/7 → -1.8722 vs -1.3505: class 20
    assert scores[1, 0].item() == pytest.approx(-1.098612289 - 0.773571429, abs=1e-8)
    assert scores[1, 1].item() == pytest.approx(-0.405465108 - 0.945, abs=1e-8)
    assert nb.predict(np.array([[3.0], [2.9], [-5.0]])).tolist() == [20, 20, 10]


def test_incremental_fit_equals_single_fit():
    rng = np.random.default_rng(0)
    a_x, a_y = rng.normal(size=(37, 4)) * 3 + 1, rng.integers(0, 3, 37)
    b_x, b_y = rng.normal(size=(23, 4)) - 2, rng.integers(0, 3, 23)
    step = PooledGaussianNB().fit(a_x, a_y).fit(b_x, b_y)
    once = PooledGaussianNB().fit(np.concatenate([a_x, b_x]), np.concatenate([a_y, b_y]))
    assert torch.equal(step.counts, once.counts)
    assert (step.means - once.means).abs().max() < 1e-10
    assert (step.pooled_variance() - once.pooled_variance()).abs().max() < 1e-10
    # and the direct per-class ddof-0 variances + ε
    all_x, all_y = np.concatenate([a_x, b_x]), np.concatenate([a_y, b_y])
    for k in range(3):
        expected = all_x[all_y == k].var(0) + 1e-9
        assert np.abs(step.variances[k].numpy() - expected).max() < 1e-10


def test_batch_missing_a_class_is_a_no_op_for_that_class():
    # official bug 2: a later batch without class 2 raised a broadcast error
    rng = np.random.default_rng(1)
    a_x, a_y = rng.normal(size=(30, 2)), np.repeat([0, 1, 2], 10)
    b_x, b_y = rng.normal(size=(8, 2)) + 5, np.repeat([0, 1], 4)
    step = PooledGaussianNB().fit(a_x, a_y).fit(b_x, b_y)
    once = PooledGaussianNB().fit(np.concatenate([a_x, b_x]), np.concatenate([a_y, b_y]))
    assert step.counts.tolist() == [14.0, 14.0, 10.0]
    assert (step.means - once.means).abs().max() < 1e-10
    assert (step.variances - once.variances).abs().max() < 1e-10
    # a class first seen in a later batch is added
    late = PooledGaussianNB().fit(b_x, b_y).fit(a_x, a_y)
    assert late.classes.tolist() == [0, 1, 2]
    assert (late.means - once.means).abs().max() < 1e-10


def test_two_class_rule_is_linear():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(50, 3)) * [1.0, 2.0, 0.5]
    y = (rng.uniform(size=50) < 0.4).astype(int)
    nb = PooledGaussianNB().fit(x, y)
    mu0, mu1 = x[y == 0].mean(0), x[y == 1].mean(0)
    pi1 = y.mean()
    var = (1 - pi1) * (x[y == 0].var(0) + 1e-9) + pi1 * (x[y == 1].var(0) + 1e-9)
    w = (mu1 - mu0) / var
    b = math.log(pi1 / (1 - pi1)) - ((mu1 ** 2 - mu0 ** 2) / (2 * var)).sum()
    test = rng.normal(size=(200, 3)) * 2
    scores = nb.joint_log_likelihood(test).numpy()
    assert np.abs((scores[:, 1] - scores[:, 0]) - (test @ w + b)).max() < 1e-9
    assert (nb.predict(test).numpy() == (test @ w + b > 0)).all()
    weights, bias = nb.linear_form()
    assert np.allclose((weights[1] - weights[0]).numpy(), w) and abs((bias[1] - bias[0]).item() - b) < 1e-9


def test_constant_feature_gets_epsilon_and_floor():
    x = np.array([[1.0, 0.0], [3.0, 0.0], [5.0, 0.0], [9.0, 0.0]])
    y = np.array([0, 0, 1, 1])
    assert PooledGaussianNB().fit(x, y).pooled_variance()[1].item() == pytest.approx(1e-9, rel=1e-12)
    assert PooledGaussianNB(var_floor=0.5).fit(x, y).pooled_variance().tolist() == pytest.approx([2.5, 0.5])


def test_unfitted_and_bad_inputs_raise():
    with pytest.raises(UserError, match="not fitted"):
        PooledGaussianNB().predict(np.zeros((2, 3)))
    with pytest.raises(UserError, match="has 3 rows"):
        PooledGaussianNB().fit(np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(UserError, match="fitted on 2 features"):
        PooledGaussianNB().fit(np.zeros((3, 2)), np.arange(3)).fit(np.zeros((3, 4)), np.arange(3))
    with pytest.raises(UserError, match="not fitted"):
        LogisticRegressionProbe()(torch.zeros(2, 3))


def test_logistic_regression_scores_match_sklearn_and_return_labels():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 3))
    y = np.where(x[:, 0] + 0.3 * rng.normal(size=60) > 0, 7, 3)
    probe = LogisticRegressionProbe(c=1.0).fit(x, y)
    reference = LogisticRegression(C=1.0, max_iter=1000).fit(x, y)
    scores = probe(torch.as_tensor(x)).numpy()
    assert np.allclose(scores[:, 1] - scores[:, 0], reference.decision_function(x), atol=1e-10)
    assert probe.predict(x).tolist() == reference.predict(x).tolist()
    assert set(probe.predict(x).tolist()) <= {3, 7}
    assert error_rate(probe, x, y) == pytest.approx(1 - reference.score(x, y))
