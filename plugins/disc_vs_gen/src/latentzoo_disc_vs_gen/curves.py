"""Test error against the number of training samples m, for naive Bayes and logistic regression.

Zheng et al., arXiv:2302.02334, Sec. 4–5. For each m of a grid, ``repeats`` training subsets
of size m are drawn (every class present); on each, the generative classifier (pooled Gaussian
naive Bayes) and the discriminative one (logistic regression) are fitted on exactly the same
points with exactly the same preprocessing, and their errors on the whole test split recorded.

The theory (Thm. 4.3 vs. Thm. 4.6) compares how many samples each method needs to come close to
*its own* asymptotic error: O(log n) for naive Bayes, O(n) for logistic regression. Our proxy is

    m*(δ) = min { m on the grid : mean error(m) ≤ mean error(m_max) + δ },   δ = 0.01,

with m_max the largest m of the grid (the spec's ``dvg.m_star``). Reported, per classifier
(``nb``, ``lr``): ``m_star_*``, ``*_error_final`` (at m_max), ``*_error_shot<s>`` (at m = s·K,
the few-shot points), ``*_error_n<m>`` (every m, unless ``per_size_metrics = false``),
``m_star_ratio`` = m*_LR / m*_NB, and ``crossover_m``: the smallest m from which logistic
regression's mean error stays below naive Bayes' to the end of the grid (0: it never does, at
the end naive Bayes is at least as good) — the paper's "two regimes".
"""

from __future__ import annotations

import math

import attrs
import numpy as np
import torch
from latentzoo.build import build
from latentzoo.config import ModelSpec, SamplerSpec, option
from latentzoo.errors import UserError

from latentzoo_disc_vs_gen.classifiers import error_rate

__all__ = ["Curve", "CurveOptions", "ErrorCurveConfig", "compute_curve", "crossover_m",
           "curve_figure", "curve_metrics", "error_curve", "m_star", "size_grid"]

METHODS = ("nb", "lr")  # generative, discriminative


# ---------------------------------------------------------------------------------------------
# Options shared by the curve stage and the curve metric
# ---------------------------------------------------------------------------------------------


@attrs.frozen(slots=False)  # a mixin: slotted stage configs inherit it next to StageConfig
class CurveOptions:
    sizes: tuple[int, ...] = option((), "training-set sizes m of the grid", gt=0)
    shots: tuple[int, ...] = option((), "add m = shots·K (reported as *_error_shot<s>)", gt=0)
    geometric: int = option(20, "add this many geometrically spaced m from min_size to max_size (0: none)", ge=0)
    min_size: int = option(0, "smallest geometric m (0: 2K)", ge=0)
    max_size: int = option(0, "largest geometric m (0: min(50·n, training pool))", ge=0)
    repeats: int = option(5, "independent training subsets per m (official 5)", gt=0)
    preprocess: str = option("none", "feature scaling fitted on the m-point subset (minmax: the paper's --minmax)",
                             choices=("none", "minmax", "standardize"))
    drop_constant: bool = option(True, "drop features that are constant on the subset, for both classifiers")
    delta: float = option(0.01, "δ of m*(δ): error within δ of the error at the largest m", ge=0)
    per_size_metrics: bool = option(True, "report *_error_n<m> for every m of the grid")
    generative: ModelSpec = option(factory=lambda: ModelSpec.of("disc_vs_gen.pooled_gnb"),
                                   doc="the generative classifier (metrics prefixed nb_)")
    discriminative: ModelSpec = option(factory=lambda: ModelSpec.of("disc_vs_gen.logistic_regression"),
                                       doc="the discriminative classifier (metrics prefixed lr_)")
    sampler: SamplerSpec = option(factory=lambda: SamplerSpec.of("disc_vs_gen.subsample_m"),
                                  doc="draws the m-point training subsets")


def size_grid(options: CurveOptions, classes: int, dim: int, pool: int, where: str = "") -> np.ndarray:
    """The sorted, distinct m of ``sizes`` ∪ ``shots``·K ∪ the geometric grid."""
    sizes = set(options.sizes) | {s * classes for s in options.shots}
    if options.geometric:
        low = options.min_size or 2 * classes
        high = options.max_size or min(50 * dim, pool)
        if high < low:
            raise UserError(f"{where}: the geometric grid runs from min_size {low} to max_size "
                            f"{high}; max_size must be at least min_size")
        sizes |= {int(round(v)) for v in np.geomspace(low, high, options.geometric)}
    if not sizes:
        raise UserError(f"{where}: the grid of m is empty; set sizes, shots or geometric")
    grid = np.array(sorted(sizes))
    if grid[0] < classes:
        raise UserError(f"{where}: m = {grid[0]} is smaller than the number of classes "
                        f"({classes}); every training subset must contain each class")
    if grid[-1] > pool:
        raise UserError(f"{where}: m = {grid[-1]} exceeds the training pool of {pool} points; "
                        "lower sizes/shots/max_size")
    return grid


# ---------------------------------------------------------------------------------------------
# The curve
# ---------------------------------------------------------------------------------------------


@attrs.define
class Curve:
    """errors[method] has shape (len(sizes), repeats); ``lr_not_converged`` counts lbfgs fits
    that stopped at max_iter."""

    sizes: np.ndarray
    errors: dict[str, np.ndarray]
    lr_not_converged: int = 0

    def mean(self, method: str) -> np.ndarray:
        return self.errors[method].mean(1)

    def std(self, method: str) -> np.ndarray:
        """Sample std over the repeats (0 with a single repeat)."""
        errors = self.errors[method]
        return errors.std(1, ddof=1) if errors.shape[1] > 1 else np.zeros(len(self.sizes))

    def as_dict(self) -> dict:
        return {"m": self.sizes.tolist(), "lr_not_converged": self.lr_not_converged,
                **{f"{method}_errors": self.errors[method].tolist() for method in METHODS}}


def preprocess(train: np.ndarray, test: np.ndarray, options: CurveOptions) -> tuple[np.ndarray, np.ndarray]:
    """Drop train-constant features, then scale with statistics of the training subset only."""
    if options.drop_constant:
        varying = train.max(0) > train.min(0)
        if varying.any():
            train, test = train[:, varying], test[:, varying]
    if options.preprocess == "minmax":
        from sklearn.preprocessing import MinMaxScaler

        scaler = MinMaxScaler().fit(train)  # test values may leave [0, 1]: expected
        train, test = scaler.transform(train), scaler.transform(test)
    elif options.preprocess == "standardize":
        from sklearn.preprocessing import StandardScaler

        scaler = StandardScaler().fit(train)
        train, test = scaler.transform(train), scaler.transform(test)
    return train, test


def compute_curve(options: CurveOptions, bctx, train_x, train_y, test_x, test_y, seed: int,
                  where: str = "") -> Curve:
    """Fit both classifiers on ``repeats`` shared m-point subsets for each m of the grid."""
    train_x = np.asarray(torch.as_tensor(train_x).flatten(1), dtype=np.float64)
    test_x = np.asarray(torch.as_tensor(test_x).flatten(1), dtype=np.float64)
    train_y, test_y = np.asarray(train_y), np.asarray(test_y)
    classes = len(np.unique(train_y))
    if classes < 2:
        raise UserError(f"{where}: the training split has {classes} class; NB vs LR needs at least 2")
    sizes = size_grid(options, classes, train_x.shape[1], len(train_y), where)
    sampler = build(options.sampler, bctx, f"{where}.sampler")
    if not callable(getattr(sampler, "draw", None)):
        raise UserError(f"{where}.sampler ({options.sampler.name}) cannot draw training subsets: "
                        "it has no draw(labels, m, rng) method")
    specs = {"nb": (options.generative, "generative"), "lr": (options.discriminative, "discriminative")}
    rng = np.random.default_rng(seed)
    errors = {method: np.zeros((len(sizes), options.repeats)) for method in METHODS}
    not_converged = 0
    for i, m in enumerate(sizes):
        for r in range(options.repeats):
            index = sampler.draw(train_y, int(m), rng)
            subset_x, scaled_test = preprocess(train_x[index], test_x, options)
            for method, (spec, key) in specs.items():
                classifier = build(spec, bctx, f"{where}.{key}")
                if not (callable(getattr(classifier, "fit", None)) and callable(getattr(classifier, "predict", None))):
                    raise UserError(f"{where}.{key} ({spec.name}) is not a classifier with fit(x, y) "
                                    "and predict(x)")
                classifier.fit(subset_x, train_y[index])
                errors[method][i, r] = error_rate(classifier, scaled_test, test_y)
                not_converged += int(getattr(classifier, "converged", True) is False)
    return Curve(sizes, errors, not_converged)


def m_star(sizes, mean_errors, delta: float = 0.01) -> float:
    """Smallest m whose mean error is within δ of the mean error at the largest m."""
    mean_errors = np.asarray(mean_errors)
    within = np.flatnonzero(mean_errors <= mean_errors[-1] + delta)
    return float(np.asarray(sizes)[within[0]])


def crossover_m(sizes, nb_mean, lr_mean) -> float:
    """Smallest m from which LR's mean error is below NB's for every larger m (0: none)."""
    lr_better = np.asarray(lr_mean) < np.asarray(nb_mean)
    if not lr_better[-1]:
        return 0.0
    start = len(lr_better) - 1
    while start > 0 and lr_better[start - 1]:
        start -= 1
    return float(np.asarray(sizes)[start])


def curve_metrics(curve: Curve, options: CurveOptions, classes: int, prefix: str = "",
                  bayes_error: float | None = None) -> dict[str, float]:
    """The flat metrics of the module docstring."""
    values: dict[str, float] = {}
    means = {method: curve.mean(method) for method in METHODS}
    position = {int(m): i for i, m in enumerate(curve.sizes)}
    for method in METHODS:
        values[f"m_star_{method}"] = m_star(curve.sizes, means[method], options.delta)
        values[f"{method}_error_final"] = float(means[method][-1])
        for shot in options.shots:
            values[f"{method}_error_shot{shot}"] = float(means[method][position[shot * classes]])
        if options.per_size_metrics:
            for m, i in position.items():
                values[f"{method}_error_n{m}"] = float(means[method][i])
    values["m_star_ratio"] = values["m_star_lr"] / values["m_star_nb"]
    values["crossover_m"] = crossover_m(curve.sizes, means["nb"], means["lr"])
    values["lr_not_converged"] = curve.lr_not_converged / curve.errors["lr"].size
    if bayes_error is not None:
        values["bayes_error"] = float(bayes_error)
    return {f"{prefix}{key}": value for key, value in values.items()}


def curve_figure(curve: Curve, title: str = "", bayes_error: float | None = None,
                 delta: float | None = 0.01):
    """Test error vs m (log x-axis), mean ± std over repeats, m*(δ) marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    figure, axis = plt.subplots(figsize=(5, 3.6))
    labels = {"nb": "naive Bayes (generative)", "lr": "logistic regression (discriminative)"}
    for method, colour in zip(METHODS, ("tab:blue", "tab:orange"), strict=True):
        mean, std = curve.mean(method), curve.std(method)
        axis.plot(curve.sizes, mean, marker="o", markersize=3, color=colour, label=labels[method])
        axis.fill_between(curve.sizes, mean - std, mean + std, color=colour, alpha=0.2)
        if delta is not None:
            star = m_star(curve.sizes, mean, delta)
            axis.axvline(star, color=colour, linestyle=":", linewidth=1,
                         label=f"m*({delta:g}) = {star:g} ({method.upper()})")
    if bayes_error is not None and math.isfinite(bayes_error):
        axis.axhline(bayes_error, color="gray", linestyle="--", linewidth=1, label="Bayes error")
    axis.set_xscale("log")
    if len(curve.sizes) <= 8:  # few points (e.g. m = shots·K): label exactly those
        axis.set_xticks(curve.sizes, [f"{m:g}" for m in curve.sizes])
        axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axis.set_xlabel("number of training samples m")
    axis.set_ylabel("test error")
    if title:
        axis.set_title(title, fontsize=9)
    axis.legend(fontsize=7)
    figure.tight_layout()
    return figure


# ---------------------------------------------------------------------------------------------
# The curve as a metric (evaluate or train stages)
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class ErrorCurveConfig(CurveOptions):
    train_split: str = option("train", "split the m-point subsets are drawn from (the test split is the evaluator's)")
    features: bool = option(True, "use the model's frozen representation (embed); false: the raw inputs x")
    prefix: str = option("", "prefix of every reported name")
    figure: bool = option(True, "return the error-vs-m figure")


def error_curve(config: ErrorCurveConfig, ctx):
    """The NB-vs-LR error curve on the evaluator's model's frozen features (or on raw x)."""

    def metric(evaluator) -> dict:
        if config.features and evaluator.model is not None:
            train_x = evaluator.features(config.train_split)
            test_x = evaluator.features()
        else:
            train_x, test_x = evaluator.tensors(config.train_split)["x"], evaluator.tensors()["x"]
        train_y, test_y = evaluator.labels(config.train_split), evaluator.labels()
        seed = getattr(ctx, "seed", 0)
        curve = compute_curve(config, ctx, train_x, train_y.numpy(), test_x, test_y.numpy(), seed,
                              "disc_vs_gen.error_curve")
        classes = len(np.unique(train_y.numpy()))
        extras = getattr(getattr(evaluator.data, "info", None), "extras", {}) or {}
        values: dict = curve_metrics(curve, config, classes, config.prefix, extras.get("bayes_error"))
        if config.figure:
            values["figures"] = {f"{config.prefix}error_vs_m": curve_figure(
                curve, bayes_error=extras.get("bayes_error"), delta=config.delta)}
        return values

    return metric
