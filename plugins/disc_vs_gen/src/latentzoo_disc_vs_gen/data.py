"""Data of the NB-vs-LR comparison: simulated Gaussian mixtures, digit halves, stored features.

Zheng et al., arXiv:2302.02334, Sec. 5.1 (simulation; official ``data/generate_data.py``) and
Sec. 5.2 (linear evaluation on frozen features; official ``main_train_offline.py``).

- ``gauss_sim``: K Gaussian classes in n dimensions with a shared covariance Σ,
  μ_0 = −1·𝟙_n, μ_k = 2^{k−1}·𝟙_n (k ≥ 1); "easy" Σ = diag(n, …, n [⌊n/2⌋ times], 1, …, 1);
  "hard" Σ = A − diag(diag A) + Σ_easy with A = (2U − 1)ᵀ(2U − 1), U ~ Unif[0, 1]^{n×n} drawn
  with numpy's legacy seed 0. The hard Σ is not PSD for small n; like the official code we
  sample with numpy's SVD method, which in effect uses |Σ| (eigenvalues made positive), and
  warn. The train pool has pool_per_dim·n points (⌊m/K⌋ per class), the test set ⌊10⁴/K⌋ per
  class. For K = 2 the Bayes error Φ(−Δ/2), Δ² = (μ_1 − μ_0)ᵀ Σ⁻¹ (μ_1 − μ_0), is put in
  ``DataInfo.extras["bayes_error"]``.
- ``digits_halves``: sklearn's 8x8 digits split into two disjoint, stratified halves: one to
  pre-train a feature extractor, one for the NB-vs-LR comparison (an offline stand-in for
  CIFAR features of a pretrained network).
- ``feature_file``: features stored on disk (``.npz``, or the official ``train_features.npy`` /
  ``val_features.npy`` pair with the label as last column), for the paper's real-scale setting.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import attrs
import numpy as np
import torch
from latentzoo.config import option
from latentzoo.data import DataInfo, DataSplits
from latentzoo.errors import MissingDataError, UserError, require

__all__ = ["bayes_error_two_class", "class_means", "digits_half_indices", "digits_halves", "feature_file", "gauss_sim",
           "sample_gaussian", "simulation_covariance"]


# ---------------------------------------------------------------------------------------------
# Simulated Gaussian mixtures
# ---------------------------------------------------------------------------------------------


def class_means(classes: int, dim: int) -> np.ndarray:
    """μ_0 = −1·𝟙_n, μ_k = 2^{k−1}·𝟙_n for k ≥ 1; shape (K, n)."""
    values = [-1.0] + [2.0 ** (k - 1) for k in range(1, classes)]
    return np.repeat(np.array(values)[:, None], dim, axis=1)


def simulation_covariance(dim: int, kind: str = "easy") -> np.ndarray:
    """The paper's shared covariance Σ ("easy": diagonal; "hard": with correlations)."""
    easy = np.diag([float(dim)] * (dim // 2) + [1.0] * (dim - dim // 2))
    if kind == "easy":
        return easy
    if kind != "hard":
        raise UserError(f"covariance must be 'easy' or 'hard', found {kind!r}")
    uniform = np.random.RandomState(0).rand(dim, dim)  # official: np.random.seed(0); rand(n, n)
    a = (2 * uniform - 1).T @ (2 * uniform - 1)
    return a - np.diag(np.diag(a)) + easy


def sample_gaussian(mean: np.ndarray, cov: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` draws of N(mean, cov) by numpy's SVD method (works, with |Σ|, when Σ is not PSD)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # warned once, in gauss_sim
        return rng.multivariate_normal(mean, cov, size=size, method="svd", check_valid="ignore")


def effective_covariance(cov: np.ndarray) -> np.ndarray:
    """The covariance numpy's SVD sampler actually produces: V |Λ| Vᵀ."""
    eigenvalues, vectors = np.linalg.eigh(cov)
    return (vectors * np.abs(eigenvalues)) @ vectors.T


def bayes_error_two_class(mean_0: np.ndarray, mean_1: np.ndarray, cov: np.ndarray) -> float:
    """Φ(−Δ/2) with Δ² = (μ_1 − μ_0)ᵀ Σ⁻¹ (μ_1 − μ_0): equal priors, shared Σ."""
    difference = mean_1 - mean_0
    delta = math.sqrt(float(difference @ np.linalg.solve(cov, difference)))
    return 0.5 * math.erfc(delta / 2 / math.sqrt(2))  # Φ(z) = ½ erfc(−z/√2)


@attrs.frozen
class GaussSimConfig:
    classes: int = option(2, "number of classes K", ge=2)
    dim: int = option(20, "feature dimension n", gt=0)
    covariance: str = option("easy", "shared covariance Σ", choices=("easy", "hard"))
    pool_per_dim: int = option(100, "training pool = pool_per_dim·n points, ⌊pool/K⌋ per class (official 100)", gt=0)
    num_test: int = option(10000, "test points, ⌊num_test/K⌋ per class (official 10⁴)", gt=0)
    seed: int = option(-1, "seed of the draws (-1: the stage's seed, so it varies with the run seed)", ge=-1)


def gauss_sim(config: GaussSimConfig, ctx) -> DataSplits:
    K, n = config.classes, config.dim
    if config.pool_per_dim * n // K < 1 or config.num_test // K < 1:
        raise UserError(f"pool_per_dim·dim = {config.pool_per_dim * n} and num_test = "
                        f"{config.num_test} must each give at least one point to each of {K} classes")
    means = class_means(K, n)
    cov = simulation_covariance(n, config.covariance)
    if np.linalg.eigvalsh(cov).min() < 0:
        warnings.warn(f"disc_vs_gen.gauss_sim: the hard covariance for dim = {n} is not positive "
                      "semi-definite; sampling with numpy's SVD method as the official code does "
                      "(in effect with |Σ|)", RuntimeWarning, stacklevel=2)
    seed = config.seed if config.seed >= 0 else getattr(ctx, "seed", 0)
    rng = np.random.default_rng(seed)
    splits = {}
    for split, per_class in (("train", config.pool_per_dim * n // K), ("test", config.num_test // K)):
        x = np.concatenate([sample_gaussian(means[k], cov, per_class, rng) for k in range(K)])
        y = np.repeat(np.arange(K), per_class)
        order = rng.permutation(len(y))
        splits[split] = {"x": torch.from_numpy(x[order].astype(np.float32)),
                         "y": torch.from_numpy(y[order].astype(np.int64))}
    extras = {"covariance": config.covariance}
    if K == 2:
        extras["bayes_error"] = bayes_error_two_class(means[0], means[1], effective_covariance(cov))
    return DataSplits(splits, DataInfo(input_shape=(n,), num_classes=K, extras=extras),
                      name="disc_vs_gen.gauss_sim")


# ---------------------------------------------------------------------------------------------
# Digits, split into a pre-training half and a comparison half
# ---------------------------------------------------------------------------------------------


def _stratified_cut(y: np.ndarray, index: np.ndarray, fraction: float,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split ``index`` into (first ≈ fraction of each class, the rest), per class at random."""
    first, rest = [], []
    for label in np.unique(y[index]):
        members = rng.permutation(index[y[index] == label])
        cut = int(round(len(members) * fraction))
        first.append(members[:cut])
        rest.append(members[cut:])
    return np.sort(np.concatenate(first)), np.sort(np.concatenate(rest))


@attrs.frozen
class DigitsHalvesConfig:
    half: str = option("probe", "which half: 'pretrain' (feature extractor) or 'probe' (NB vs LR)",
                       choices=("pretrain", "probe"))
    pretrain_fraction: float = option(0.5, "fraction of each class in the pre-training half", gt=0, lt=1)
    test_fraction: float = option(1 / 3, "fraction of the chosen half held out as its test split", gt=0, lt=1)
    split_seed: int = option(0, "seed of the split (the same for both halves, so they stay disjoint)")


def digits_half_indices(y: np.ndarray, config: DigitsHalvesConfig) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) row indices of the chosen half; the two halves never share a row."""
    rng = np.random.default_rng(config.split_seed)
    pretrain, probe = _stratified_cut(y, np.arange(len(y)), config.pretrain_fraction, rng)
    chosen = pretrain if config.half == "pretrain" else probe
    test, train = _stratified_cut(y, chosen, config.test_fraction, rng)
    return train, test


def digits_halves(config: DigitsHalvesConfig, ctx) -> DataSplits:
    datasets = require("sklearn.datasets", "full", "disc_vs_gen.digits_halves")
    bunch = datasets.load_digits()
    x = (bunch.data / 16.0).astype(np.float32)  # pixels in [0, 1]
    y = bunch.target.astype(np.int64)
    train, test = digits_half_indices(y, config)
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
    return DataSplits({"train": {"x": x_t[train], "y": y_t[train]},
                       "test": {"x": x_t[test], "y": y_t[test]}},
                      DataInfo(input_shape=(64,), num_classes=10, extras={"half": config.half}),
                      name="disc_vs_gen.digits_halves")


# ---------------------------------------------------------------------------------------------
# Features stored on disk (the paper's CIFAR-10/100 features of pretrained networks)
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class FeatureFileConfig:
    path: str = option(doc="an .npz with x_train, y_train, x_test, y_test, or a folder with the "
                           "official train_features.npy and val_features.npy (label = last column)")
    num_classes: int = option(0, "number of classes (0: from the labels)", ge=0)


def _load_features(path: Path) -> dict[str, np.ndarray]:
    if path.is_dir():
        arrays = {}
        for split, file in (("train", "train_features.npy"), ("test", "val_features.npy")):
            if not (path / file).exists():
                raise MissingDataError(f"disc_vs_gen.feature_file: {path} has no {file}; expected the "
                                       "official main_extract_features.py output (features, label last)")
            table = np.load(path / file)
            arrays[f"x_{split}"], arrays[f"y_{split}"] = table[:, :-1], table[:, -1]
        return arrays
    with np.load(path) as stored:
        missing = {"x_train", "y_train", "x_test", "y_test"} - set(stored.files)
        if missing:
            raise UserError(f"disc_vs_gen.feature_file: {path} lacks {', '.join(sorted(missing))} "
                            f"(has {', '.join(stored.files)})")
        return {key: stored[key] for key in ("x_train", "y_train", "x_test", "y_test")}


def feature_file(config: FeatureFileConfig, ctx) -> DataSplits:
    path = Path(config.path).expanduser()
    if not path.exists():
        raise MissingDataError(
            f"disc_vs_gen.feature_file: {path} does not exist. Extract features of a pretrained "
            "network first (e.g. CLIP on CIFAR-10 with the official main_extract_features.py) and "
            "save x_train, y_train, x_test, y_test in an .npz, or point to the folder holding "
            "train_features.npy and val_features.npy")
    arrays = _load_features(path)
    splits = {split: {"x": torch.as_tensor(arrays[f"x_{split}"], dtype=torch.float32).flatten(1),
                      "y": torch.as_tensor(np.rint(arrays[f"y_{split}"]).astype(np.int64))}
              for split in ("train", "test")}
    classes = config.num_classes or int(torch.unique(splits["train"]["y"]).numel())
    return DataSplits(splits, DataInfo(input_shape=(splits["train"]["x"].shape[1],), num_classes=classes),
                      name="disc_vs_gen.feature_file")
