"""Offline datasets: nothing is downloaded, everything is generated or shipped with a package.

- ``digits``: sklearn's bundled 8x8 handwritten digits (1797 images), scaled to [0, 1].
- ``mnist1d``: MNIST-1D (Greydanus 2020), 40-sample signals made from 10 templates by the
  ``mnist1d`` package's procedural generator.
- ``toy2d``: 8-Gaussian ring, two moons, swiss roll (2-D points).
- ``shapes``: dSprites-like binary images (square, ellipse, heart) with known factors.
- ``sequences``: noisy sinusoid windows whose frequency is the label.
"""

from __future__ import annotations

import functools
import math

import attrs
import numpy as np
import torch

from latentzoo.config import option
from latentzoo.data import DataInfo, DataSplits
from latentzoo.errors import require


def _stratified_split(y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(y):
        index = rng.permutation(np.flatnonzero(y == label))
        cut = int(round(len(index) * test_fraction))
        test.append(index[:cut])
        train.append(index[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _limit(index: np.ndarray, limit: int, seed: int) -> np.ndarray:
    if limit and limit < len(index):
        rng = np.random.default_rng(seed + 7919)
        return np.sort(rng.choice(index, size=limit, replace=False))
    return index


# ---------------------------------------------------------------------------------------------
# digits
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class DigitsConfig:
    test_fraction: float = option(1 / 3, "fraction of each class held out for the test split", gt=0, lt=1)
    split_seed: int = option(0, "seed of the fixed stratified split")
    image: bool = option(False, "x as 1x8x8 images (true) or flat 64-vectors (false)")
    train_limit: int = option(0, "use only this many training examples (0: all)", ge=0)


def digits(config: DigitsConfig, ctx) -> DataSplits:
    datasets = require("sklearn.datasets", "full", "builtin.digits")
    bunch = datasets.load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    train, test = _stratified_split(y, config.test_fraction, config.split_seed)
    train = _limit(train, config.train_limit, config.split_seed)
    shape = (1, 8, 8) if config.image else (64,)
    x_t = torch.from_numpy(x).reshape(-1, *shape)
    y_t = torch.from_numpy(y)
    return DataSplits(
        {"train": {"x": x_t[train], "y": y_t[train]}, "test": {"x": x_t[test], "y": y_t[test]}},
        DataInfo(input_shape=shape, num_classes=10), name="builtin.digits")


# ---------------------------------------------------------------------------------------------
# mnist1d
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class Mnist1dConfig:
    num_samples: int = option(5000, "examples generated in all (80% train, 20% test)", gt=10)
    seed: int = option(42, "generator seed (the package's default is 42)")
    channel: bool = option(False, "x as 1x40 (true) or 40 (false)")


@functools.lru_cache(maxsize=4)
def _mnist1d_arrays(num_samples: int, seed: int) -> dict:
    """The generator takes seconds; stages and runs in one process share its output."""
    mnist_data = require("mnist1d.data", "full", "builtin.mnist1d")
    args = mnist_data.get_dataset_args()
    args.num_samples = num_samples
    args.seed = seed
    return mnist_data.make_dataset(args)


def mnist1d(config: Mnist1dConfig, ctx) -> DataSplits:
    raw = _mnist1d_arrays(config.num_samples, config.seed)
    shape = (1, 40) if config.channel else (40,)

    def tensors(x, y):
        return {"x": torch.as_tensor(np.asarray(x), dtype=torch.float32).reshape(-1, *shape),
                "y": torch.as_tensor(np.asarray(y), dtype=torch.int64)}

    return DataSplits({"train": tensors(raw["x"], raw["y"]), "test": tensors(raw["x_test"], raw["y_test"])},
                      DataInfo(input_shape=shape, num_classes=10), name="builtin.mnist1d")


# ---------------------------------------------------------------------------------------------
# 2-D toys
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class Toy2dConfig:
    kind: str = option("ring8", "which toy", choices=("ring8", "moons", "swiss_roll"))
    num_train: int = option(8000, "training points", gt=0)
    num_test: int = option(2000, "test points", gt=0)
    noise: float = option(0.05, "noise scale (ring: std of each Gaussian, relative to radius)", ge=0)
    seed: int = option(0, "generator seed")


def make_toy2d(kind: str, n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points with unit-ish scale and a label (ring: mode index; moons: moon; swiss: arm turn)."""
    if kind == "ring8":
        labels = rng.integers(0, 8, n)
        angles = labels * (2 * math.pi / 8)
        centres = np.stack([np.cos(angles), np.sin(angles)], 1) * 2.0
        return (centres + rng.normal(0, noise * 2.0, (n, 2))).astype(np.float32), labels
    if kind == "moons":
        labels = rng.integers(0, 2, n)
        t = rng.uniform(0, math.pi, n)
        x = np.where(labels == 0, np.cos(t), 1 - np.cos(t))
        y = np.where(labels == 0, np.sin(t), 0.5 - np.sin(t))
        points = np.stack([x - 0.5, y - 0.25], 1) * 1.5 + rng.normal(0, noise, (n, 2))
        return points.astype(np.float32), labels
    t = 1.5 * math.pi * (1 + 2 * rng.uniform(0, 1, n))
    points = np.stack([t * np.cos(t), t * np.sin(t)], 1) / 5.0 + rng.normal(0, noise * 2, (n, 2))
    labels = np.digitize(t, np.linspace(1.5 * math.pi, 4.5 * math.pi, 5)[1:-1])
    return points.astype(np.float32), labels


def toy2d(config: Toy2dConfig, ctx) -> DataSplits:
    rng = np.random.default_rng(config.seed)
    splits = {}
    for split, n in (("train", config.num_train), ("test", config.num_test)):
        x, y = make_toy2d(config.kind, n, config.noise, rng)
        splits[split] = {"x": torch.from_numpy(x), "y": torch.from_numpy(y.astype(np.int64))}
    classes = {"ring8": 8, "moons": 2, "swiss_roll": 3}[config.kind]
    return DataSplits(splits, DataInfo(input_shape=(2,), num_classes=classes), name="builtin.toy2d")


# ---------------------------------------------------------------------------------------------
# shapes (dSprites-like)
# ---------------------------------------------------------------------------------------------

SHAPE_NAMES = ("square", "ellipse", "heart")
FACTOR_NAMES = ("shape", "scale", "orientation", "x", "y")


@attrs.frozen
class ShapesConfig:
    size: int = option(32, "image side in pixels", choices=(32, 64))
    num_train: int = option(10000, "training images", gt=0)
    num_test: int = option(2000, "test images", gt=0)
    scales: int = option(6, "number of scale values in [0.5, 1]", gt=0)
    orientations: int = option(40, "number of orientations in [0, 2π)", gt=0)
    positions: int = option(16, "number of x (and y) positions", gt=1)
    seed: int = option(0, "seed of the factor draws")


def _inside(shape: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    square = (np.abs(u) <= 0.8) & (np.abs(v) <= 0.8)
    ellipse = u ** 2 + (v / 0.55) ** 2 <= 1.0
    hx, hy = u * 1.15, -v * 1.15 + 0.25
    heart = (hx ** 2 + hy ** 2 - 1) ** 3 - hx ** 2 * hy ** 3 <= 0
    return np.where(shape == 0, square, np.where(shape == 1, ellipse, heart))


def render_shapes(factors: np.ndarray, size: int, scales: int, orientations: int,
                  positions: int) -> np.ndarray:
    """Binary images for integer factors ``[shape, scale, orientation, x, y]`` (N x 5)."""
    shape = factors[:, 0][:, None, None]
    scale = (0.5 + 0.5 * factors[:, 1] / max(1, scales - 1))[:, None, None]
    angle = (2 * math.pi * factors[:, 2] / orientations)[:, None, None]
    # centres leave room for the largest shape: positions span [0.25, 0.75] of the image
    cx = (0.25 + 0.5 * factors[:, 3] / (positions - 1))[:, None, None]
    cy = (0.25 + 0.5 * factors[:, 4] / (positions - 1))[:, None, None]
    grid = (np.arange(size) + 0.5) / size
    gy, gx = np.meshgrid(grid, grid, indexing="ij")
    radius = 0.2  # the unit shape is drawn with this radius at scale 1
    dx, dy = (gx[None] - cx) / (radius * scale), (gy[None] - cy) / (radius * scale)
    u = np.cos(angle) * dx + np.sin(angle) * dy
    v = -np.sin(angle) * dx + np.cos(angle) * dy
    return _inside(shape, u, v).astype(np.float32)


def shapes(config: ShapesConfig, ctx) -> DataSplits:
    rng = np.random.default_rng(config.seed)
    sizes = np.array([len(SHAPE_NAMES), config.scales, config.orientations, config.positions,
                      config.positions])
    splits = {}
    for split, n in (("train", config.num_train), ("test", config.num_test)):
        factors = (rng.uniform(size=(n, 5)) * sizes).astype(np.int64)
        images = np.concatenate([
            render_shapes(factors[i: i + 1024], config.size, config.scales, config.orientations,
                          config.positions) for i in range(0, n, 1024)])
        splits[split] = {"x": torch.from_numpy(images).unsqueeze(1),
                         "y": torch.from_numpy(factors[:, 0].copy()),
                         "factors": torch.from_numpy(factors)}
    info = DataInfo(input_shape=(1, config.size, config.size), num_classes=len(SHAPE_NAMES),
                    extras={"factor_names": FACTOR_NAMES, "factor_sizes": tuple(int(s) for s in sizes)})
    return DataSplits(splits, info, name="builtin.shapes")


# ---------------------------------------------------------------------------------------------
# sequences
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class SequencesConfig:
    length: int = option(32, "time steps per sequence", gt=1)
    num_classes: int = option(4, "frequency classes (class k has k + 1 cycles per window)", gt=1)
    num_train: int = option(4000, "training sequences", gt=0)
    num_test: int = option(1000, "test sequences", gt=0)
    noise: float = option(0.1, "std of additive Gaussian noise", ge=0)
    seed: int = option(0, "generator seed")


def sequences(config: SequencesConfig, ctx) -> DataSplits:
    rng = np.random.default_rng(config.seed)
    t = np.arange(config.length) / config.length
    splits = {}
    for split, n in (("train", config.num_train), ("test", config.num_test)):
        labels = rng.integers(0, config.num_classes, n)
        phase = rng.uniform(0, 2 * math.pi, (n, 1))
        x = np.sin(2 * math.pi * (labels[:, None] + 1) * t[None] + phase)
        x = x + rng.normal(0, config.noise, x.shape)
        splits[split] = {"x": torch.from_numpy(x.astype(np.float32)),
                         "y": torch.from_numpy(labels.astype(np.int64))}
    return DataSplits(splits, DataInfo(input_shape=(config.length,), num_classes=config.num_classes),
                      name="builtin.sequences")
