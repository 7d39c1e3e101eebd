"""The generative–discriminative pair: pooled Gaussian naive Bayes and logistic regression.

Zheng, Wu, Bao, Cao, Li, Zhu, "Revisiting Discriminative vs. Generative Classifiers: Theory and
Implications", ICML 2023, arXiv:2302.02334 (Sec. 3 and 5; official ``models/gaussnb.py``).

Naive Bayes with a pooled (tied) diagonal covariance, the paper's generative classifier:

    μ_kj  = mean of feature j over class k
    s²_kj = (1/n_k) Σ_{i: y_i = k} (x_ij − μ_kj)² + ε              per-class variance, ddof 0, ε = 1e-9
    π_k   = n_k / Σ_l n_l                                          class prior
    σ²_j  = Σ_k π_k s²_kj                                          pooled variance (ε enters once)
    score_k(x) = log π_k − ½ Σ_j (x_j − μ_kj)² / σ²_j              prediction: argmax_k

σ² is shared by the classes, so the rule is linear in x (like logistic regression's); for K = 2
the log-odds are wᵀx + b with w_j = (μ_1j − μ_0j)/σ²_j and
b = log(π_1/π_0) − Σ_j (μ_1j² − μ_0j²)/(2σ²_j). This is not sklearn's ``GaussianNB``, which
keeps one variance per class (a quadratic rule) and smooths with ``var_smoothing``·max variance.

``fit`` is incremental: it merges per-class counts, means and sums of squared deviations with
Chan, Golub and LeVeque's formula (as the official code does),

    n = n_a + n_b,   μ = (n_a μ_a + n_b μ_b) / n,
    n s² = n_a s²_a + n_b s²_b + (n_a n_b / n) (μ_a − μ_b)²,

so fitting A then B equals one fit on A ∪ B. Departures from the official code, on purpose:
``predict`` returns class labels (the official one returns positions in the sorted labels), a
batch that lacks a class merges that class with count 0 (officially a broadcast error), and
variances are taken over every feature (with pandas >= 3 the official code drops the last).

The discriminative classifier is sklearn's ``LogisticRegression`` (multinomial, L2, C = 1,
lbfgs, max_iter = 1000), as in the official ``main_train_offline.py``.

Both are ``nn.Module`` s with ``fit(x, y)``, ``forward(x) -> scores (N, K)`` and
``predict(x) -> labels``; they hold float64 buffers and are never trained by gradient.
"""

from __future__ import annotations

import math
import warnings

import attrs
import numpy as np
import torch
from latentzoo.config import option
from latentzoo.errors import UserError, require
from torch import nn

__all__ = ["LogisticRegressionConfig", "LogisticRegressionProbe", "PooledGaussianNB",
           "PooledGaussianNBConfig", "logistic_regression", "pooled_gaussian_nb"]


def _as_float64(x) -> torch.Tensor:
    """A float64 CPU tensor, with any trailing dimensions flattened into features."""
    x = x.detach().cpu() if torch.is_tensor(x) else torch.as_tensor(np.asarray(x))
    x = x.to(torch.float64)
    return x.flatten(1) if x.dim() > 2 else x


def _as_labels(y) -> torch.Tensor:
    y = y.detach().cpu() if torch.is_tensor(y) else torch.as_tensor(np.asarray(y))
    if y.is_floating_point():
        if not torch.equal(y, y.round()):
            raise UserError("class labels must be integers")
    return y.to(torch.int64).flatten()


def _check_fit_inputs(x: torch.Tensor, y: torch.Tensor, who: str) -> None:
    if x.dim() != 2:
        raise UserError(f"{who}.fit: x must be (samples, features), found shape {tuple(x.shape)}")
    if len(x) != len(y):
        raise UserError(f"{who}.fit: x has {len(x)} rows but y has {len(y)} labels")
    if len(x) == 0:
        raise UserError(f"{who}.fit: no samples")


# ---------------------------------------------------------------------------------------------
# Pooled Gaussian naive Bayes
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class PooledGaussianNBConfig:
    epsilon: float = option(1e-9, "ε added to each per-class variance before pooling (official 1e-9)", ge=0)
    var_floor: float = option(0.0, "lower bound on the pooled variance σ²_j (0: none, as officially)", ge=0)


class PooledGaussianNB(nn.Module):
    """Gaussian naive Bayes with a pooled diagonal covariance (a linear rule); see module doc.

    Args:
        epsilon: added to each per-class (ddof 0) variance, before pooling.
        var_floor: σ²_j is clamped to at least this (0 keeps the official behaviour).
    """

    def __init__(self, epsilon: float = 1e-9, var_floor: float = 0.0):
        super().__init__()
        self.epsilon = float(epsilon)
        self.var_floor = float(var_floor)
        self.register_buffer("classes", torch.zeros(0, dtype=torch.int64))
        self.register_buffer("counts", torch.zeros(0, dtype=torch.float64))
        self.register_buffer("means", torch.zeros(0, 0, dtype=torch.float64))
        self.register_buffer("variances", torch.zeros(0, 0, dtype=torch.float64))  # s²_kj + ε

    @property
    def fitted(self) -> bool:
        return len(self.classes) > 0

    def reset(self) -> PooledGaussianNB:
        self.classes = torch.zeros(0, dtype=torch.int64)
        self.counts = torch.zeros(0, dtype=torch.float64)
        self.means = torch.zeros(0, 0, dtype=torch.float64)
        self.variances = torch.zeros(0, 0, dtype=torch.float64)
        return self

    # -- fitting ----------------------------------------------------------------------------------
    def _add_classes(self, labels: torch.Tensor, features: int) -> None:
        """Grow the state to hold ``labels`` (new classes start with count 0)."""
        if not self.fitted:
            self.means = torch.zeros(0, features, dtype=torch.float64)
            self.variances = torch.zeros(0, features, dtype=torch.float64)
        elif self.means.shape[1] != features:
            raise UserError(f"PooledGaussianNB.fit: fitted on {self.means.shape[1]} features, "
                            f"this batch has {features}")
        classes = torch.unique(torch.cat([self.classes, labels]))
        if len(classes) == len(self.classes):
            return
        position = torch.searchsorted(classes, self.classes)  # where the known classes go

        def grown(old: torch.Tensor) -> torch.Tensor:
            return torch.zeros((len(classes), *old.shape[1:]), dtype=old.dtype).index_copy_(0, position, old)

        self.counts, self.means, self.variances = grown(self.counts), grown(self.means), grown(self.variances)
        self.classes = classes

    def fit(self, x, y) -> PooledGaussianNB:
        """Merge the batch ``(x, y)`` into the per-class counts, means and variances."""
        x, y = _as_float64(x), _as_labels(y)
        _check_fit_inputs(x, y, "PooledGaussianNB")
        self._add_classes(torch.unique(y), x.shape[1])
        index = torch.searchsorted(self.classes, y)
        K = len(self.classes)
        n_b = torch.bincount(index, minlength=K).to(torch.float64)
        present = n_b > 0
        mean_b = torch.zeros_like(self.means).index_add_(0, index, x)
        mean_b[present] /= n_b[present, None]
        # per-class ddof-0 variance of the batch, plus ε (the official get_vars)
        var_b = torch.zeros_like(self.means).index_add_(0, index, (x - mean_b[index]) ** 2)
        var_b[present] /= n_b[present, None]
        var_b[present] += self.epsilon
        # Chan's merge: n s² = n_a s²_a + n_b s²_b + (n_a n_b / n)(μ_a − μ_b)²
        n_a, mean_a, var_a = self.counts, self.means, self.variances
        n = n_a + n_b
        safe = torch.where(n > 0, n, torch.ones_like(n))[:, None]
        mean = torch.where(present[:, None], (n_a[:, None] * mean_a + n_b[:, None] * mean_b) / safe, mean_a)
        ssd = (n_a[:, None] * var_a + n_b[:, None] * var_b
               + (n_a * n_b / safe[:, 0])[:, None] * (mean_a - mean_b) ** 2)
        self.variances = torch.where(present[:, None], ssd / safe, var_a)
        self.means = mean
        self.counts = n
        return self

    # -- the decision rule ---------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not self.fitted:
            raise UserError("PooledGaussianNB is not fitted: call fit(x, y) before predicting")

    @property
    def priors(self) -> torch.Tensor:
        """π_k = n_k / Σ_l n_l."""
        self._check_fitted()
        return self.counts / self.counts.sum()

    def pooled_variance(self) -> torch.Tensor:
        """σ²_j = Σ_k π_k s²_kj, optionally floored at ``var_floor``."""
        variance = (self.priors[:, None] * self.variances).sum(0)
        return variance.clamp_min(self.var_floor) if self.var_floor > 0 else variance

    def joint_log_likelihood(self, x) -> torch.Tensor:
        """score_k(x) = log π_k − ½ Σ_j (x_j − μ_kj)² / σ²_j, shape (N, K)."""
        self._check_fitted()
        x = _as_float64(x)
        variance = self.pooled_variance()
        # Σ_j (x_j − μ_kj)²/σ²_j expanded as Σ x²/σ² − 2 x·(μ_k/σ²) + Σ μ_k²/σ²: one matmul, no (N, K, n) tensor
        distance = ((x ** 2) / variance).sum(-1, keepdim=True) - 2 * x @ (self.means / variance).T \
            + ((self.means ** 2) / variance).sum(-1)[None]
        return torch.log(self.priors)[None] - 0.5 * distance

    def linear_form(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(W, b)`` with score_k(x) = W_k·x + b_k + c(x), c independent of k (the rule is linear).

        W_kj = μ_kj / σ²_j and b_k = log π_k − ½ Σ_j μ_kj² / σ²_j.
        """
        variance = self.pooled_variance()
        weights = self.means / variance
        bias = torch.log(self.priors) - 0.5 * (self.means ** 2 / variance).sum(-1)
        return weights, bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.joint_log_likelihood(x)

    def predict(self, x) -> torch.Tensor:
        """The label (not the position) of argmax_k score_k(x)."""
        return self.classes[self.joint_log_likelihood(x).argmax(-1)]


def pooled_gaussian_nb(config: PooledGaussianNBConfig, ctx=None) -> PooledGaussianNB:
    return PooledGaussianNB(config.epsilon, config.var_floor)


# ---------------------------------------------------------------------------------------------
# Logistic regression (sklearn)
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class LogisticRegressionConfig:
    c: float = option(1.0, "inverse L2 strength C (the paper keeps sklearn's C = 1)", gt=0)
    max_iter: int = option(1000, "lbfgs iterations (official 1000)", gt=0)
    tol: float = option(1e-4, "lbfgs stopping tolerance (sklearn default)", gt=0)


class LogisticRegressionProbe(nn.Module):
    """Multinomial L2 logistic regression fitted by sklearn's lbfgs; weights kept as buffers.

    ``forward`` gives the linear scores W x + b (for two classes sklearn fits one weight vector
    w; we store it as W = [0, w], which gives the same argmax and log-odds).
    """

    def __init__(self, c: float = 1.0, max_iter: int = 1000, tol: float = 1e-4):
        super().__init__()
        self.c, self.max_iter, self.tol = float(c), int(max_iter), float(tol)
        self.converged = True
        self.register_buffer("classes", torch.zeros(0, dtype=torch.int64))
        self.register_buffer("weight", torch.zeros(0, 0, dtype=torch.float64))
        self.register_buffer("bias", torch.zeros(0, dtype=torch.float64))

    @property
    def fitted(self) -> bool:
        return len(self.classes) > 0

    def fit(self, x, y) -> LogisticRegressionProbe:
        linear_model = require("sklearn.linear_model", "full", "disc_vs_gen.logistic_regression")
        exceptions = require("sklearn.exceptions", "full", "disc_vs_gen.logistic_regression")
        x, y = _as_float64(x), _as_labels(y)
        _check_fit_inputs(x, y, "LogisticRegressionProbe")
        if len(torch.unique(y)) < 2:
            raise UserError("LogisticRegressionProbe.fit: needs at least 2 classes in y")
        model = linear_model.LogisticRegression(C=self.c, solver="lbfgs", max_iter=self.max_iter,
                                                tol=self.tol)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", exceptions.ConvergenceWarning)
            model.fit(x.numpy(), y.numpy())
        self.converged = not any(issubclass(w.category, exceptions.ConvergenceWarning) for w in caught)
        coef = torch.as_tensor(model.coef_, dtype=torch.float64)
        intercept = torch.as_tensor(model.intercept_, dtype=torch.float64)
        if coef.shape[0] == 1:  # binary: one vector for class 1 against class 0
            coef = torch.cat([torch.zeros_like(coef), coef])
            intercept = torch.cat([torch.zeros_like(intercept), intercept])
        self.classes = torch.as_tensor(model.classes_, dtype=torch.int64)
        self.weight, self.bias = coef, intercept
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.fitted:
            raise UserError("LogisticRegressionProbe is not fitted: call fit(x, y) before predicting")
        return _as_float64(x) @ self.weight.T + self.bias

    def predict(self, x) -> torch.Tensor:
        return self.classes[self(x).argmax(-1)]


def logistic_regression(config: LogisticRegressionConfig, ctx=None) -> LogisticRegressionProbe:
    return LogisticRegressionProbe(config.c, config.max_iter, config.tol)


def error_rate(classifier: nn.Module, x, y) -> float:
    """Test error = 1 − accuracy of ``classifier.predict``."""
    predicted = classifier.predict(x)
    return float((predicted != _as_labels(y)).to(torch.float64).mean()) if len(predicted) else math.nan
