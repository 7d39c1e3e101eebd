"""Generic metrics: accuracy, kNN and linear-probe accuracy, k-means clustering (NMI / ARI),
sliced Wasserstein distance.

Each factory returns ``metric(evaluator) -> {name: value}``; the evaluator gathers a whole
split across processes in dataset order, so the values do not depend on the world size.
"""

from __future__ import annotations

import attrs
import numpy as np
import torch
import torch.nn.functional as F

from latentzoo.config import option
from latentzoo.errors import UserError, require


def _name(prefix: str, name: str) -> str:
    return f"{prefix}{name}" if prefix else name


# ---------------------------------------------------------------------------------------------
# accuracy
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class AccuracyConfig:
    prefix: str = option("", "prefix of the reported name ('<prefix>accuracy')")


def accuracy(config: AccuracyConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        logits = evaluator.predict()
        return {_name(config.prefix, "accuracy"): top1(logits, evaluator.labels())}

    return metric


def top1(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return (logits.argmax(-1) == labels.to(logits.device)).float().mean().item()


# ---------------------------------------------------------------------------------------------
# kNN and linear probe on frozen representations
# ---------------------------------------------------------------------------------------------


REPRESENTATIONS = ("embed", "forward")


def _representations(evaluator, which: str, split: str | None = None) -> torch.Tensor:
    """``embed`` features (cached) or the model's output (after a projection head)."""
    if which == "forward":
        return evaluator.predict(split=split)
    return evaluator.features(split)


@attrs.frozen
class KNNConfig:
    k: int = option(20, "neighbours", gt=0)
    metric: str = option("cosine", "distance", choices=("cosine", "euclidean"))
    train_split: str = option("train", "split the neighbours come from")
    representation: str = option("embed", "model.embed(x) (else the output) or model(x)", choices=REPRESENTATIONS)
    prefix: str = option("", "prefix of the reported name ('<prefix>knn_accuracy')")


def knn_accuracy(config: KNNConfig, ctx):
    neighbors = require("sklearn.neighbors", "full", "builtin.knn_accuracy")

    def metric(evaluator) -> dict[str, float]:
        train = _representations(evaluator, config.representation, config.train_split).numpy()
        test = _representations(evaluator, config.representation).numpy()
        classifier = neighbors.KNeighborsClassifier(n_neighbors=config.k, metric=config.metric)
        classifier.fit(train, evaluator.labels(config.train_split).numpy())
        predicted = classifier.predict(test)
        value = float((predicted == evaluator.labels().numpy()).mean())
        return {_name(config.prefix, "knn_accuracy"): value}

    return metric


@attrs.frozen
class KMeansClusteringConfig:
    clusters: int = option(0, "k (0: the data's class count)", ge=0)
    n_init: int = option(10, "k-means restarts (the best inertia is kept)", gt=0)
    seed: int = option(0, "k-means random_state")
    representation: str = option("embed", "model.embed(x), model(x), or the raw input x (a reference "
                                 "that uses no model)", choices=(*REPRESENTATIONS, "input"))
    prefix: str = option("kmeans_", "prefix of the reported names ('<prefix>nmi', '<prefix>ari')")


def kmeans_clustering(config: KMeansClusteringConfig, ctx):
    """k-means (sklearn) on a split's frozen representations, scored against the labels with
    normalised mutual information and the adjusted Rand index."""
    cluster = require("sklearn.cluster", "full", "builtin.kmeans_clustering")
    scores = require("sklearn.metrics", "full", "builtin.kmeans_clustering")

    def metric(evaluator) -> dict[str, float]:
        if config.representation == "input":
            features = evaluator.tensors()["x"].flatten(1)
        else:
            features = _representations(evaluator, config.representation).flatten(1)
        labels = evaluator.labels().numpy()
        k = config.clusters or (evaluator.data.info.num_classes or 0)
        if k < 2:
            raise UserError("builtin.kmeans_clustering: set 'clusters' (the data declares no class count)")
        assigned = cluster.KMeans(n_clusters=k, n_init=config.n_init,
                                  random_state=config.seed).fit_predict(features.double().numpy())
        return {_name(config.prefix, "nmi"): float(scores.normalized_mutual_info_score(labels, assigned)),
                _name(config.prefix, "ari"): float(scores.adjusted_rand_score(labels, assigned))}

    return metric


@attrs.frozen
class LinearProbeConfig:
    c: float = option(1.0, "inverse L2 regularisation strength of the logistic regression", gt=0)
    max_iter: int = option(2000, "solver iterations", gt=0)
    standardize: bool = option(True, "standardise features with training-split statistics")
    train_split: str = option("train", "split the probe is fitted on")
    representation: str = option("embed", "model.embed(x) (else the output) or model(x)", choices=REPRESENTATIONS)
    prefix: str = option("", "prefix of the reported name ('<prefix>linear_probe')")


def linear_probe(config: LinearProbeConfig, ctx):
    linear_model = require("sklearn.linear_model", "full", "builtin.linear_probe")

    def metric(evaluator) -> dict[str, float]:
        train = _representations(evaluator, config.representation, config.train_split).numpy().astype(np.float64)
        test = _representations(evaluator, config.representation).numpy().astype(np.float64)
        if config.standardize:
            mean, std = train.mean(0), train.std(0) + 1e-8
            train, test = (train - mean) / std, (test - mean) / std
        probe = linear_model.LogisticRegression(C=config.c, max_iter=config.max_iter)
        probe.fit(train, evaluator.labels(config.train_split).numpy())
        value = float(probe.score(test, evaluator.labels().numpy()))
        return {_name(config.prefix, "linear_probe"): value}

    return metric


# ---------------------------------------------------------------------------------------------
# Sliced Wasserstein distance
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class SlicedWassersteinConfig:
    projections: int = option(256, "random directions", gt=0)
    max_samples: int = option(2000, "compare at most this many samples of each set", gt=0)
    seed: int = option(0, "seed of the directions and of the subsampling")
    prefix: str = option("", "prefix of the reported name ('<prefix>sliced_wasserstein')")


def sliced_wasserstein_distance(a: torch.Tensor, b: torch.Tensor, projections: int,
                                generator: torch.Generator) -> float:
    """SW₂ between equal-size point sets: sqrt(mean over directions θ of W₂²(θᵀa, θᵀb)).

    In 1-D, W₂² between two empirical measures of n points is the mean squared difference of
    the sorted values.
    """
    if a.shape != b.shape:
        raise ValueError(f"sliced Wasserstein needs equal-size sets, found {tuple(a.shape)} and {tuple(b.shape)}")
    a, b = a.flatten(1).double(), b.flatten(1).double()
    theta = torch.randn(a.shape[1], projections, generator=generator, dtype=torch.float64)
    theta = theta / theta.norm(dim=0, keepdim=True)
    pa, _ = torch.sort(a @ theta, dim=0)
    pb, _ = torch.sort(b @ theta, dim=0)
    return ((pa - pb) ** 2).mean().sqrt().item()


def sliced_wasserstein(config: SlicedWassersteinConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        if evaluator.samples is None:
            raise UserError("builtin.sliced_wasserstein compares generated samples with data: "
                            "use it in a generate stage")
        real = evaluator.tensors()["x"]
        fake = evaluator.samples
        generator = torch.Generator().manual_seed(config.seed)
        n = min(len(real), len(fake), config.max_samples)
        real = real[torch.randperm(len(real), generator=generator)[:n]]
        fake = fake[torch.randperm(len(fake), generator=generator)[:n]]
        value = sliced_wasserstein_distance(fake.reshape(n, -1), real.reshape(n, -1),
                                            config.projections, generator)
        return {_name(config.prefix, "sliced_wasserstein"): value}

    return metric


def cosine_similarity_matrix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T
