"""The simulated mixtures, the digit halves and stored features."""

import warnings

import numpy as np
import pytest
from latentzoo.errors import MissingDataError, UserError
from latentzoo_disc_vs_gen.classifiers import PooledGaussianNB, error_rate
from latentzoo_disc_vs_gen.data import (
    DigitsHalvesConfig,
    FeatureFileConfig,
    GaussSimConfig,
    bayes_error_two_class,
    class_means,
    digits_half_indices,
    feature_file,
    gauss_sim,
    sample_gaussian,
    simulation_covariance,
)


class Ctx:
    seed = 0


def test_means_and_easy_covariance_by_hand():
    assert class_means(4, 2).tolist() == [[-1, -1], [1, 1], [2, 2], [4, 4]]
    assert np.diag(simulation_covariance(5)).tolist() == [5, 5, 1, 1, 1]
    assert np.count_nonzero(simulation_covariance(5) - np.diag(np.diag(simulation_covariance(5)))) == 0


def test_hard_covariance_is_not_psd_for_n5():
    cov = simulation_covariance(5, "hard")
    assert np.allclose(cov, cov.T)
    assert np.diag(cov).tolist() == [5, 5, 1, 1, 1]  # the diagonal of A is removed
    assert np.linalg.eigvalsh(cov).min() == pytest.approx(-0.687, abs=1e-3)  # value from the spec
    with pytest.warns(RuntimeWarning, match="not positive"):
        gauss_sim(GaussSimConfig(classes=2, dim=5, covariance="hard", pool_per_dim=4, num_test=10), Ctx())


def test_generator_moments():
    # spec test 4: 10⁵ draws match μ_k and diag Σ within 2% (of the std for means)
    cov = simulation_covariance(4)
    rng = np.random.default_rng(0)
    for mean in class_means(3, 4):
        x = sample_gaussian(mean, cov, 100_000, rng)
        assert np.all(np.abs(x.mean(0) - mean) <= 0.02 * np.sqrt(np.diag(cov)))
        assert np.all(np.abs(x.var(0) / np.diag(cov) - 1) <= 0.02)


def test_bayes_error_by_hand():
    # n = 2, easy Σ = diag(2, 1): Δ² = 2²/2 + 2²/1 = 6, Φ(−√6/2) = Φ(−1.2247) = 0.11033
    value = bayes_error_two_class(np.array([-1.0, -1.0]), np.array([1.0, 1.0]), simulation_covariance(2))
    assert value == pytest.approx(0.110335, abs=2e-6)


def test_gauss_sim_splits_and_naive_bayes_reaches_bayes_error():
    # spec test 5: m = 10⁴, n = 10; NB is well specified, so its error is within 0.01 of Bayes
    data = gauss_sim(GaussSimConfig(classes=2, dim=10, pool_per_dim=1000, num_test=10_000), Ctx())
    train, test = data.split("train"), data.split("test")
    assert len(train["y"]) == 10_000 and len(test["y"]) == 10_000
    assert np.bincount(train["y"].numpy()).tolist() == [5000, 5000]
    bayes = data.info.extras["bayes_error"]
    # Δ² = 4·(5/10 + 5) = 22 → Φ(−√22/2) = Φ(−2.3452) = 0.00951
    assert bayes == pytest.approx(0.00951, abs=5e-5)
    nb = PooledGaussianNB().fit(train["x"], train["y"])
    assert abs(error_rate(nb, test["x"], test["y"]) - bayes) < 0.01


def test_gauss_sim_seed():
    a = gauss_sim(GaussSimConfig(dim=3, pool_per_dim=4), Ctx()).split("train")["x"]
    b = gauss_sim(GaussSimConfig(dim=3, pool_per_dim=4, seed=0), Ctx()).split("train")["x"]
    c = gauss_sim(GaussSimConfig(dim=3, pool_per_dim=4, seed=1), Ctx()).split("train")["x"]
    assert (a == b).all() and not (a == c).all()
    with pytest.raises(UserError, match="at least one point"):
        gauss_sim(GaussSimConfig(classes=5, dim=1, pool_per_dim=2), Ctx())


def test_digit_halves_are_disjoint_and_cover_digits():
    y = np.repeat(np.arange(10), 180)[:1797]
    pre_train, pre_test = digits_half_indices(y, DigitsHalvesConfig(half="pretrain"))
    probe_train, probe_test = digits_half_indices(y, DigitsHalvesConfig(half="probe"))
    rows = np.concatenate([pre_train, pre_test, probe_train, probe_test])
    assert len(rows) == len(set(rows.tolist())) == 1797
    assert abs(len(probe_train) - 600) <= 5 and abs(len(probe_test) - 300) <= 5


def test_feature_file(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "f.npz", x_train=rng.normal(size=(20, 3)), y_train=np.arange(20) % 4,
             x_test=rng.normal(size=(8, 3)), y_test=np.arange(8) % 4)
    data = feature_file(FeatureFileConfig(path=str(tmp_path / "f.npz")), Ctx())
    assert data.info.input_shape == (3,) and data.info.num_classes == 4
    official = tmp_path / "clip" / "cifar10"
    official.mkdir(parents=True)
    table = np.column_stack([rng.normal(size=(6, 2)), np.arange(6) % 2])
    np.save(official / "train_features.npy", table)
    np.save(official / "val_features.npy", table)
    data = feature_file(FeatureFileConfig(path=str(official)), Ctx())
    assert data.split("test")["y"].tolist() == [0, 1, 0, 1, 0, 1]
    with pytest.raises(MissingDataError, match="does not exist"):
        feature_file(FeatureFileConfig(path=str(tmp_path / "absent.npz")), Ctx())


def test_no_warning_for_easy_covariance():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gauss_sim(GaussSimConfig(classes=2, dim=5, pool_per_dim=4, num_test=10), Ctx())
