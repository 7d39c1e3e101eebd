"""Data of the random-teacher experiments (arXiv 2302.12091): one un-augmented view per sample.

- ``single_view``: MNIST-1D (generated procedurally by the ``mnist1d`` package, never downloaded)
  or sklearn digits, standardised per feature with training-split statistics. The official
  code's ``mc=1x32`` with crop scale (1, 1) is the full input, unchanged: no augmentation.
  Labels are kept for the probes only; the distillation loss never reads them.
- ``noise_inputs``: the data-dependence control. I.i.d. Gaussian inputs with the real data's
  per-feature mean and standard deviation (of the standardised training split), same split sizes.
  Labels are random (the network never sees real inputs, nothing to predict).
"""

from __future__ import annotations

import functools

import attrs
import numpy as np
import torch
from latentzoo.config import option
from latentzoo.data import DataInfo, DataSplits
from latentzoo.errors import require

__all__ = ["SingleViewConfig", "NoiseInputsConfig", "single_view", "noise_inputs"]

STD_FLOOR = 10 * torch.finfo(torch.float32).eps


@attrs.frozen
class SingleViewConfig:
    source: str = option("mnist1d", "dataset", choices=("mnist1d", "digits"))
    num_samples: int = option(5000, "mnist1d: signals generated (80% train, 20% test: 4000 / 1000)",
                              gt=10)
    data_seed: int = option(42, "mnist1d generator seed (the package's default)")
    test_fraction: float = option(1 / 3, "digits: fraction of each class held out", gt=0, lt=1)
    standardize: bool = option(True, "standardise each feature with training-split mean / std")


def _load(config: SingleViewConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    arrays = _generate(config.source, config.num_samples, config.data_seed, config.test_fraction)
    return tuple(a.copy() for a in arrays)


@functools.lru_cache(maxsize=4)
def _generate(source: str, num_samples: int, data_seed: int, test_fraction: float):
    """The raw arrays, generated once per process (every stage of a run rebuilds its data)."""
    config = SingleViewConfig(source=source, num_samples=num_samples, data_seed=data_seed,
                              test_fraction=test_fraction)
    if config.source == "mnist1d":
        mnist_data = require("mnist1d.data", "full", "random_teachers.single_view",
                             "pip install mnist1d")
        args = mnist_data.get_dataset_args()  # procedural: make_dataset, not the downloading get_dataset
        args.num_samples = config.num_samples
        args.seed = config.data_seed
        raw = mnist_data.make_dataset(args)
        return (np.asarray(raw["x"], np.float32), np.asarray(raw["y"], np.int64),
                np.asarray(raw["x_test"], np.float32), np.asarray(raw["y_test"], np.int64))
    datasets = require("sklearn.datasets", "full", "random_teachers.single_view")
    bunch = datasets.load_digits()
    x, y = (bunch.data / 16.0).astype(np.float32), bunch.target.astype(np.int64)
    rng = np.random.default_rng(0)
    test = np.zeros(len(y), bool)
    for label in np.unique(y):
        index = rng.permutation(np.flatnonzero(y == label))
        test[index[: int(round(len(index) * config.test_fraction))]] = True
    return x[~test], y[~test], x[test], y[test]


def single_view(config: SingleViewConfig, ctx) -> DataSplits:
    x_train, y_train, x_test, y_test = (torch.from_numpy(a) for a in _load(config))
    if config.standardize:
        mean, std = x_train.mean(0), x_train.std(0).clamp_min(STD_FLOOR)
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    return DataSplits({"train": {"x": x_train, "y": y_train}, "test": {"x": x_test, "y": y_test}},
                      DataInfo(input_shape=tuple(x_train.shape[1:]), num_classes=10,
                               extras={"source": config.source}),
                      name="random_teachers.single_view")


@attrs.frozen
class NoiseInputsConfig(SingleViewConfig):
    noise_seed: int = option(0, "seed of the Gaussian inputs and random labels")


def noise_inputs(config: NoiseInputsConfig, ctx) -> DataSplits:
    real = single_view(config, ctx)
    generator = torch.Generator().manual_seed(config.noise_seed)
    train_x = real.split("train")["x"]
    mean, std = train_x.mean(0), train_x.std(0)
    splits = {}
    for name in ("train", "test"):
        n = real.size(name)
        x = mean + std * torch.randn(n, *train_x.shape[1:], generator=generator)
        y = torch.randint(0, 10, (n,), generator=generator)
        splits[name] = {"x": x, "y": y}
    return DataSplits(splits, DataInfo(input_shape=real.info.input_shape, num_classes=10,
                                       extras={"source": f"noise({config.source})"}),
                      name="random_teachers.noise_inputs")
