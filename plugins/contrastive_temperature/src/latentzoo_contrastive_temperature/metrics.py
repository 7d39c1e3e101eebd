"""Metrics of Wang & Liu (arXiv 2012.09740): uniformity, tolerance, penalty entropy.

- Uniformity (Wang & Isola 2020, arXiv 2005.10242, L_uniform; used by Wang & Liu, Sec. 4):
      U = log( mean_{i<j} exp(−t‖z_i − z_j‖²) ),  t = 2,
  over the N(N−1)/2 distinct pairs (``torch.pdist``, as the official ``uniform_loss``), on
  L2-normalised z (the official function does not normalise: ``normalize = false``). On the
  unit sphere ‖z_i − z_j‖² ∈ [0, 4], so U ∈ [−8, 0]; lower is more uniform. One pair-free
  sample (N = 1) gives NaN, as the official code.
- Tolerance (Wang & Liu, Sec. 4): E[(f(x)ᵀf(y))·1(l(x) = l(y))], reported as the conditional
  mean of z_iᵀz_j over same-class pairs i ≠ j (pooled over classes; a single-sample class has
  no pair and is skipped).
- Penalty entropy: the mean over anchors of −Σ_j r_ij log r_ij, r_ij the relative penalty of
  (4) of :mod:`latentzoo_contrastive_temperature.losses` (:func:`latentzoo_contrastive_temperature.losses.relative_penalty`). On the eval split
  each sample is an anchor and the other N − 1 samples its negatives (no augmentation, so no
  positive, which r does not involve). τ is the metric's ``temperature`` or, when that is 0,
  the τ the model was trained with (recorded by this plugin's losses).

Embeddings come from ``evaluator.features()`` (``embed(x)`` of the model) or, with
``features = "forward"``, from the model's output, gathered across processes in dataset order.
With a projection head the two differ (pre- and post-head); report both with a ``prefix``.
"""

from __future__ import annotations

import math

import attrs
import torch
import torch.nn.functional as F
from latentzoo.config import option
from latentzoo.errors import UserError

from latentzoo_contrastive_temperature.losses import penalty_entropy

__all__ = ["uniformity_value", "tolerance_value", "alignment_value", "UniformityConfig",
           "ToleranceConfig", "PenaltyEntropyConfig", "uniformity", "tolerance", "penalty_entropy_metric"]


def _name(prefix: str, name: str) -> str:
    return f"{prefix}{name}"


FEATURES_DOC = "representation: the model's embed() (pre-head) or its forward() output (post-head)"


def _features(evaluator, which: str) -> torch.Tensor:
    return evaluator.features() if which == "embed" else evaluator.predict()


def uniformity_value(z: torch.Tensor, t: float = 2.0, normalize: bool = True) -> float:
    """U = log mean_{i<j} exp(−t‖z_i − z_j‖²) over distinct pairs; NaN for fewer than 2 points."""
    z = z.flatten(1).double()
    if normalize:
        z = F.normalize(z, dim=1)
    if len(z) < 2:
        return math.nan
    exponent = -t * torch.pdist(z, p=2).pow(2)
    return float(torch.logsumexp(exponent, 0) - math.log(len(exponent)))


def tolerance_value(z: torch.Tensor, labels: torch.Tensor, normalize: bool = True) -> float:
    """Mean z_iᵀz_j over same-class pairs i ≠ j; NaN if no class has two samples."""
    z = z.flatten(1).double()
    if normalize:
        z = F.normalize(z, dim=1)
    total, pairs = 0.0, 0
    for label in labels.unique():
        members = z[labels == label]
        n = len(members)
        if n < 2:
            continue
        summed = members.sum(0)
        # Σ_{i≠j} z_iᵀz_j = ‖Σ_i z_i‖² − Σ_i ‖z_i‖²
        total += float(summed @ summed - (members * members).sum())
        pairs += n * (n - 1)
    return total / pairs if pairs else math.nan


def alignment_value(x: torch.Tensor, y: torch.Tensor, alpha: float = 2.0) -> float:
    """Official ``align_loss``: mean over rows of ‖x_i − y_i‖₂^α (positive pairs)."""
    return float((x - y).flatten(1).norm(p=2, dim=1).pow(alpha).mean())


@attrs.frozen
class UniformityConfig:
    features: str = option("embed", FEATURES_DOC, choices=("embed", "forward"))
    t: float = option(2.0, "t of the Gaussian potential exp(−t‖u − v‖²)", gt=0)
    normalize: bool = option(True, "L2-normalise first (false: the official function's raw behaviour)")
    prefix: str = option("", "prefix of the reported name ('<prefix>uniformity')")


def uniformity(config: UniformityConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        value = uniformity_value(_features(evaluator, config.features), config.t, config.normalize)
        return {_name(config.prefix, "uniformity"): value}

    return metric


@attrs.frozen
class ToleranceConfig:
    features: str = option("embed", FEATURES_DOC, choices=("embed", "forward"))
    normalize: bool = option(True, "L2-normalise first (the metric is defined on the sphere)")
    prefix: str = option("", "prefix of the reported name ('<prefix>tolerance')")


def tolerance(config: ToleranceConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        value = tolerance_value(_features(evaluator, config.features), evaluator.labels(), config.normalize)
        return {_name(config.prefix, "tolerance"): value}

    return metric


@attrs.frozen
class PenaltyEntropyConfig:
    features: str = option("embed", FEATURES_DOC, choices=("embed", "forward"))
    temperature: float = option(0.0, "τ of the relative penalty r (0: the τ the model was trained with)", ge=0)
    max_samples: int = option(2000, "use the first this-many eval samples (the cost is quadratic)", gt=1)
    prefix: str = option("", "prefix of the reported name ('<prefix>penalty_entropy')")


def penalty_entropy_metric(config: PenaltyEntropyConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        temperature = config.temperature or getattr(evaluator.model, "contrastive_temperature", None)
        if not temperature:
            raise UserError("contrastive_temperature.penalty_entropy: set 'temperature' (> 0): the "
                            "model was not trained with a loss of this plugin, which records its τ")
        z = F.normalize(_features(evaluator, config.features)[: config.max_samples].double(), dim=1)
        s = z @ z.T
        n = len(z)
        s_neg = s[~torch.eye(n, dtype=torch.bool)].view(n, n - 1)
        value = float(penalty_entropy(s_neg, temperature).mean())
        return {_name(config.prefix, "penalty_entropy"): value}

    return metric
