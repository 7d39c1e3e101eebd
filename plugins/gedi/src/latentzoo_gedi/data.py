"""The 2-D toys of GEDI (arXiv 2401.00873: moons and circles) and their two views.

- :func:`toy2d`: sklearn's ``make_moons`` / ``make_circles`` (noise 0.05, circles factor 0.5),
  standardised with the training split's mean and std; labels are kept only for NMI.
- :class:`GaussianViews`: the two views of a 2-D point, x′ = x + N(0, σ²·I) drawn
  independently per view (σ = 0.05). The paper's toy augmentation could not be verified; this
  one is ours (see the README).

Digits and ``builtin.shapes`` use the shared two-view samplers of latentzoo-ssl
(``ssl.digits_twoview``, ``ssl.shapes_twoview``) instead.
"""

from __future__ import annotations

import attrs
import numpy as np
import torch
from latentzoo.config import option
from latentzoo.data import DataInfo, DataSplits
from latentzoo.errors import UserError, require

__all__ = ["Toy2dConfig", "toy2d", "make_toy", "GaussianViewsConfig", "GaussianViews"]


@attrs.frozen
class Toy2dConfig:
    kind: str = option("moons", "which toy", choices=("moons", "circles"))
    num_train: int = option(2000, "training points", gt=1)
    num_test: int = option(1000, "test points", gt=0)
    noise: float = option(0.05, "std of sklearn's Gaussian noise (before standardising)", ge=0)
    factor: float = option(0.5, "circles: inner radius / outer radius", gt=0, lt=1)
    standardize: bool = option(True, "standardise with the training split's mean and std")
    seed: int = option(0, "generator seed (the data are the same for every run seed)")


def make_toy(kind: str, n: int, noise: float, factor: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points of sklearn's moons or circles, shuffled, with their 0/1 labels."""
    datasets = require("sklearn.datasets", "full", "gedi.toy2d")
    if kind == "moons":
        x, y = datasets.make_moons(n_samples=n, noise=noise, random_state=seed)
    else:
        x, y = datasets.make_circles(n_samples=n, noise=noise, factor=factor, random_state=seed)
    return x.astype(np.float32), y.astype(np.int64)


def toy2d(config: Toy2dConfig, ctx) -> DataSplits:
    n = config.num_train + config.num_test
    x, y = make_toy(config.kind, n, config.noise, config.factor, config.seed)
    train, test = slice(0, config.num_train), slice(config.num_train, n)  # sklearn shuffles
    if config.standardize:
        mean, std = x[train].mean(0), x[train].std(0)
        x = (x - mean) / std
    splits = {name: {"x": torch.from_numpy(x[part].copy()), "y": torch.from_numpy(y[part].copy())}
              for name, part in (("train", train), ("test", test))}
    return DataSplits(splits, DataInfo(input_shape=(2,), num_classes=2), name="gedi.toy2d")


@attrs.frozen
class GaussianViewsConfig:
    std: float = option(0.05, "std σ of the isotropic Gaussian jitter of each view", ge=0)


class GaussianViews:
    """``{x, y, ...} -> {x1, x2, y, ...}`` with x1 = x + σε₁, x2 = x + σε₂ (global torch RNG)."""

    def __init__(self, config: GaussianViewsConfig, ctx=None):
        self.std = config.std

    def __call__(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if "x" not in batch:
            raise UserError(f"gedi.gaussian_views: the batch has no 'x' (keys: {', '.join(batch)})")
        x = batch["x"]
        rest = {key: value for key, value in batch.items() if key != "x"}
        return {**rest, "x1": x + self.std * torch.randn_like(x), "x2": x + self.std * torch.randn_like(x)}
