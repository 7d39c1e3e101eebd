"""Synthetic feature data and its two-view augmentation (stand-in for Def. 3.1 of arXiv 2403.11391).

The paper's data model (Def. 3.1) is not reproduced verbatim here (the paper body was not
available; see the README). This generator follows the plugin spec:

    x = Σ_{i≤k} φ_i z_i e_i + σ ξ  ∈ ℝ^d,     z_i i.i.d. Rademacher,  ξ ~ N(0, I_d)

A positive pair is two views of the same z. Augmentation *resamples* z_i from its marginal
(it never zeroes it, which would change the views' covariance), and each view gets fresh noise.
The spec states both "each view resamples z_i with probability p_i" and corr(z_i, z_i⁺) = 1 − p_i,
which disagree when both views are augmented (the correlation would be (1 − p_i)²). We keep the
correlation, which is what the population loss sees: each view resamples z_i independently with
probability q_i = 1 − √(1 − p_i), so that

    E[z_i z_i⁺] = (1 − q_i)² = 1 − p_i,      (both views identically distributed)
    M = E[x x⁺ᵀ] = diag(φ² (1 − p)),  Σ = E[x xᵀ] = diag(φ²) + σ² I      (zero-padded to d).

The label of the downstream task is the sign of the target feature z_j (y = 1 if z_j = +1).
"""

from __future__ import annotations

import attrs
import torch

from latentzoo.config import option
from latentzoo.data import DataInfo, DataSplits
from latentzoo.errors import UserError

__all__ = ["SyntheticFeaturesConfig", "synthetic_features", "per_view_resample_probability",
           "feature_view", "population_moments", "FeatureViewsConfig", "FeatureViews"]


# ---------------------------------------------------------------------------------------------
# the generator
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class SyntheticFeaturesConfig:
    num_features: int = option(10, "k: number of latent features z_1..z_k", gt=0)
    dim: int = option(20, "d: input dimension (>= k; the last d - k coordinates are pure noise)", gt=0)
    weight: float = option(1.0, "φ_i of every feature (overridden by 'weights')", gt=0)
    weights: tuple[float, ...] = option((), "per-feature φ_1..φ_k (empty: all 'weight')", ge=0)
    noise: float = option(0.3, "σ: std of the isotropic input noise ξ", ge=0)
    target: int = option(0, "j: index (0-based) of the feature the downstream label reads", ge=0)
    target_augment: float = option(0.5, "p_j: augmentation strength of the target feature", ge=0, le=1)
    nuisance_augment: float = option(0.05, "p_i of every other feature", ge=0, le=1)
    augment: tuple[float, ...] = option((), "per-feature p_1..p_k (empty: target/nuisance values)",
                                        ge=0, le=1)
    num_train: int = option(2000, "training examples", gt=0)
    num_test: int = option(2000, "test examples", gt=0)
    seed: int = option(0, "seed of the fixed sample (independent of the run seed)")


def _resolved(config: SyntheticFeaturesConfig) -> tuple[torch.Tensor, torch.Tensor]:
    k = config.num_features
    if config.dim < k:
        raise UserError(f"dim ({config.dim}) must be >= num_features ({k}): each feature has its "
                        "own input coordinate")
    if config.target >= k:
        raise UserError(f"target ({config.target}) must be < num_features ({k}) (0-based index)")
    for name, values in (("weights", config.weights), ("augment", config.augment)):
        if values and len(values) != k:
            raise UserError(f"{name} has {len(values)} entries, expected num_features = {k} "
                            "(or leave it empty)")
    weights = torch.tensor(config.weights or [config.weight] * k, dtype=torch.float64)
    if config.augment:
        augment = torch.tensor(config.augment, dtype=torch.float64)
    else:
        augment = torch.full((k,), config.nuisance_augment, dtype=torch.float64)
        augment[config.target] = config.target_augment
    return weights, augment


def population_moments(weights: torch.Tensor, augment: torch.Tensor, noise: float,
                       dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(M, Σ): M = E[x x⁺ᵀ] = diag(φ²(1 − p)), Σ = E[x xᵀ] = diag(φ²) + σ² I, both d x d."""
    k = len(weights)
    cross = torch.zeros(dim, dim, dtype=torch.float64)
    second = noise**2 * torch.eye(dim, dtype=torch.float64)
    cross[range(k), range(k)] = weights**2 * (1 - augment)
    second[range(k), range(k)] += weights**2
    return cross, second


def _rademacher(shape, generator=None, device=None) -> torch.Tensor:
    return torch.randint(0, 2, shape, generator=generator, device=device).float() * 2 - 1


def _embed(z: torch.Tensor, weights: torch.Tensor, noise: float, dim: int,
           generator=None) -> torch.Tensor:
    """x = [φ ⊙ z, 0] + σ ξ."""
    x = torch.zeros(len(z), dim, device=z.device)
    x[:, : z.shape[1]] = z * weights.to(z.device, torch.float32)
    eps = torch.randn(len(z), dim, generator=generator, device=z.device) if generator is not None \
        else torch.randn(len(z), dim, device=z.device)
    return x + noise * eps


def synthetic_features(config: SyntheticFeaturesConfig, ctx) -> DataSplits:
    """Splits ``train``/``test`` with ``x`` (one sample of the input), ``z`` (features), ``y`` (z_j > 0)."""
    weights, augment = _resolved(config)
    generator = torch.Generator().manual_seed(config.seed)
    splits = {}
    for name, size in (("train", config.num_train), ("test", config.num_test)):
        z = _rademacher((size, config.num_features), generator)
        x = _embed(z, weights, config.noise, config.dim, generator)
        splits[name] = {"x": x, "z": z, "y": (z[:, config.target] > 0).long()}
    cross, second = population_moments(weights, augment, config.noise, config.dim)
    extras = {"weights": weights, "augment": augment, "noise": config.noise,
              "num_features": config.num_features, "target": config.target,
              "cross_moment": cross, "second_moment": second}
    return DataSplits(splits, DataInfo((config.dim,), num_classes=2, extras=extras),
                      name="projection_head.synthetic_features")


# ---------------------------------------------------------------------------------------------
# the two-view augmentation
# ---------------------------------------------------------------------------------------------


def per_view_resample_probability(augment: torch.Tensor) -> torch.Tensor:
    """q = 1 − √(1 − p): two views, each resampling with probability q, have corr 1 − p."""
    return 1 - torch.sqrt(1 - augment)


def feature_view(z: torch.Tensor, weights: torch.Tensor, augment: torch.Tensor, noise: float,
                 dim: int) -> torch.Tensor:
    """One view: each z_i replaced by a fresh Rademacher draw with probability q_i, fresh noise."""
    q = per_view_resample_probability(augment).to(z.device, torch.float32)
    resample = torch.rand(z.shape, device=z.device) < q
    z_view = torch.where(resample, _rademacher(z.shape, device=z.device), z)
    return _embed(z_view, weights, noise, dim)


@attrs.frozen
class FeatureViewsConfig:
    pass


class FeatureViews:
    """``sampler({x, z, y}) -> {x1, x2, z, y}``: two views of the same z (global torch RNG)."""

    def __init__(self, config: FeatureViewsConfig, ctx=None):
        extras = getattr(getattr(ctx, "data", None), "extras", None) or {}
        missing = [key for key in ("weights", "augment", "noise") if key not in extras]
        if missing:
            raise UserError("projection_head.feature_views needs data from "
                            "projection_head.synthetic_features (it reads the feature weights, "
                            f"augmentation strengths and noise level); missing: {', '.join(missing)}")
        self.weights = extras["weights"]
        self.augment = extras["augment"]
        self.noise = float(extras["noise"])
        self.dim = int(ctx.data.input_shape[0])

    def __call__(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if "z" not in batch:
            raise UserError(f"projection_head.feature_views needs the latent features 'z' in the "
                            f"batch (keys: {', '.join(batch)})")
        z = batch["z"]
        return {**batch, "x1": feature_view(z, self.weights, self.augment, self.noise, self.dim),
                "x2": feature_view(z, self.weights, self.augment, self.noise, self.dim)}

