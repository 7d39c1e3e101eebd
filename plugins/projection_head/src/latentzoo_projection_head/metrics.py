"""Metrics of "Investigating the Benefits of Projection Head" (Xue et al., arXiv 2403.11391).

- :func:`feature_weights`: layer-wise progressive feature weighting (§3). For a deep linear
  network with layers W_1..W_L, the weight layer ℓ puts on input feature i is

      w_i^(ℓ) = ‖W_ℓ ⋯ W_1 e_i‖.

  With balanced layers (W_ℓ W_ℓᵀ = W_{ℓ+1}ᵀ W_{ℓ+1}) and a diagonal data model,
  w_i^(ℓ) = (w_i^(L))^{ℓ/L}: the encoder's weights are the L-th root of the output's (square
  root for one head layer), hence more uniform ("spread" = max/min over non-zero features).
  Reports the spread of every layer, the largest deviation of w^(1) / (w^(L))^{1/L} from 1, the
  number of features zeroed in the output, and the balance gap max_ℓ ‖W_ℓW_ℓᵀ − W_{ℓ+1}ᵀW_{ℓ+1}‖_max.
- :func:`layer_probe`: the same downstream probe on the pre-projection representation
  h = ``model.embed(x)`` and the post-projection z = ``model(x)``: k-NN (Euclidean, features
  not normalised), ridge classifier, or logistic regression (sklearn), fitted on a fixed subset
  of labelled training examples. Reports ``<probe>_pre``, ``<probe>_post`` and
  ``<probe>_gap`` = pre − post.
"""

from __future__ import annotations

import attrs
import numpy as np
import torch

from latentzoo.config import option
from latentzoo.errors import UserError, require
from latentzoo.evaluation import forward

__all__ = ["feature_weight_matrix", "root_law_error", "spread", "balance_gap",
           "FeatureWeightsConfig", "feature_weights", "LayerProbeConfig", "layer_probe"]


# ---------------------------------------------------------------------------------------------
# layer-wise feature weights
# ---------------------------------------------------------------------------------------------


def feature_weight_matrix(weights: list[torch.Tensor], num_features: int) -> torch.Tensor:
    """(L, k): row ℓ holds w_i^(ℓ+1) = ‖W_{ℓ+1} ⋯ W_1 e_i‖ for the first k input coordinates."""
    rows, product = [], None
    for weight in weights:
        product = weight if product is None else weight @ product
        rows.append(product[:, :num_features].norm(dim=0))
    return torch.stack(rows)


def nonzero_features(last: torch.Tensor, threshold: float) -> torch.Tensor:
    """Features whose output weight is at least ``threshold`` x the largest."""
    return last >= threshold * last.max()


def spread(row: torch.Tensor, keep: torch.Tensor) -> float:
    """max / min of a layer's weights over the kept (non-zero) features."""
    kept = row[keep]
    return float(kept.max() / kept.min())


def root_law_error(matrix: torch.Tensor, keep: torch.Tensor) -> float:
    """max_i |w_i^(1) / (w_i^(L))^{1/L} − 1| over kept features (0 = the law holds exactly)."""
    depth = len(matrix)
    ratio = matrix[0, keep] / matrix[-1, keep] ** (1.0 / depth)
    return float((ratio - 1).abs().max())


def balance_gap(weights: list[torch.Tensor]) -> float:
    """max_ℓ ‖W_ℓ W_ℓᵀ − W_{ℓ+1}ᵀ W_{ℓ+1}‖_max (0 for balanced layers)."""
    gaps = [(a @ a.T - b.T @ b).abs().max() for a, b in zip(weights[:-1], weights[1:], strict=True)]
    return float(max(gaps)) if gaps else 0.0


@attrs.frozen
class FeatureWeightsConfig:
    num_features: int = option(0, "features i = 1..k to report (0: the data's num_features)", ge=0)
    zero_threshold: float = option(0.01, "a feature is zeroed when its output weight < this x the largest",
                                   gt=0, lt=1)
    per_feature: bool = option(False, "also report every w_i^(ℓ) as 'w<ℓ>_<i>'")
    prefix: str = option("", "prefix of the reported names")


def feature_weights(config: FeatureWeightsConfig, ctx):
    def metric(evaluator) -> dict:
        model = evaluator.model
        if not callable(getattr(model, "layer_weights", None)):
            raise UserError("projection_head.feature_weights needs a linear model with layer_weights() "
                            f"(projection_head.linear_stack); found {type(model).__name__}")
        weights = [w.detach().double().cpu() for w in model.layer_weights()]
        extras = evaluator.data.info.extras if evaluator.data is not None else {}
        k = config.num_features or int(extras.get("num_features", weights[0].shape[1]))
        if k > weights[0].shape[1]:
            raise UserError(f"num_features ({k}) exceeds the input dimension ({weights[0].shape[1]})")
        matrix = feature_weight_matrix(weights, k)
        keep = nonzero_features(matrix[-1], config.zero_threshold)
        p = config.prefix
        values: dict = {f"{p}spread_l{depth + 1}": spread(matrix[depth], keep) for depth in range(len(matrix))}
        if len(matrix) > 1:
            values[f"{p}root_law_error"] = root_law_error(matrix, keep)
            values[f"{p}balance_gap"] = balance_gap(weights)
        values[f"{p}zeroed_features"] = float((~keep).sum())
        if config.per_feature:
            for depth, row in enumerate(matrix):
                values |= {f"{p}w{depth + 1}_{i}": float(v) for i, v in enumerate(row)}
        values["figures"] = {f"{p}feature_weights": _figure(matrix, extras.get("augment"))}
        return values

    return metric


def _figure(matrix: torch.Tensor, augment):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5, 3))
    k = matrix.shape[1]
    width = 0.8 / len(matrix)
    for depth, row in enumerate(matrix):
        axis.bar(np.arange(k) + depth * width, row.numpy(), width, label=f"layer {depth + 1}")
    labels = [f"p={float(a):.2f}" for a in augment[:k]] if augment is not None else list(range(k))
    axis.set_xticks(np.arange(k) + 0.4 - width / 2, labels, rotation=45, fontsize=7)
    axis.set_ylabel("w_i = ‖W_ℓ⋯W_1 e_i‖")
    axis.legend(fontsize=7)
    return figure


# ---------------------------------------------------------------------------------------------
# probes before / after the projection head
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class LayerProbeConfig:
    probe: str = option("knn", "downstream probe", choices=("knn", "ridge", "logistic"))
    representation: str = option("both", "h = embed(x) (pre), z = model(x) (post), or both",
                                 choices=("both", "pre", "post"))
    k: int = option(15, "k-NN neighbours", gt=0)
    distance: str = option("euclidean", "k-NN distance (features are not normalised)",
                           choices=("euclidean", "cosine"))
    alpha: float = option(10.0, "ridge regularisation α", gt=0)
    c: float = option(1.0, "inverse L2 strength of the logistic regression", gt=0)
    standardize: bool = option(True, "logistic: standardise features with training statistics "
                               "(as builtin.linear_probe); k-NN and ridge never standardise")
    num_labels: int = option(200, "labelled training examples the probe is fitted on (0: all)", ge=0)
    label_seed: int = option(0, "seed of the labelled subset (the same for pre and post)")
    train_split: str = option("train", "split the probe is fitted on")
    prefix: str = option("", "prefix of the reported names")


def _pre(model, batch) -> torch.Tensor:
    return model.embed(batch["x"]).flatten(1)


def _post(model, batch) -> torch.Tensor:
    return forward(model, batch).flatten(1)


def _fit_score(config: LayerProbeConfig, train: np.ndarray, y_train: np.ndarray,
               test: np.ndarray, y_test: np.ndarray) -> float:
    if config.probe == "knn":
        neighbors = require("sklearn.neighbors", "full", "projection_head.layer_probe")
        classifier = neighbors.KNeighborsClassifier(n_neighbors=min(config.k, len(train)),
                                                    metric=config.distance)
    elif config.probe == "ridge":
        linear_model = require("sklearn.linear_model", "full", "projection_head.layer_probe")
        classifier = linear_model.RidgeClassifier(alpha=config.alpha)
    else:
        linear_model = require("sklearn.linear_model", "full", "projection_head.layer_probe")
        if config.standardize:
            mean, std = train.mean(0), train.std(0) + 1e-8
            train, test = (train - mean) / std, (test - mean) / std
        classifier = linear_model.LogisticRegression(C=config.c, max_iter=2000)
    classifier.fit(train, y_train)
    return float((classifier.predict(test) == y_test).mean())


def layer_probe(config: LayerProbeConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        model = evaluator.model
        if model is None:
            raise UserError("projection_head.layer_probe needs a model (evaluate stage: model = ...)")
        if config.representation != "post" and not callable(getattr(model, "embed", None)):
            raise UserError(f"projection_head.layer_probe: {type(model).__name__} has no embed(), so "
                            "there is no pre-projection representation; use a model with a "
                            "projection head or representation = \"post\"")
        y_train = evaluator.labels(config.train_split).numpy()
        y_test = evaluator.labels().numpy()
        subset = np.arange(len(y_train))
        if config.num_labels and config.num_labels < len(y_train):
            rng = np.random.default_rng(config.label_seed)
            subset = np.sort(rng.choice(len(y_train), size=config.num_labels, replace=False))
        values = {}
        kinds = ("pre", "post") if config.representation == "both" else (config.representation,)
        for kind in kinds:
            fn = _pre if kind == "pre" else _post
            train = evaluator.predict(fn, config.train_split).numpy().astype(np.float64)[subset]
            test = evaluator.predict(fn).numpy().astype(np.float64)
            values[f"{config.prefix}{config.probe}_{kind}"] = _fit_score(
                config, train, y_train[subset], test, y_test)
        if config.representation == "both":
            values[f"{config.prefix}{config.probe}_gap"] = (
                values[f"{config.prefix}{config.probe}_pre"] - values[f"{config.prefix}{config.probe}_post"])
        return values

    return metric
