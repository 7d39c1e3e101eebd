"""sklearn digits with a fixed 1500 / 297 train/test split and each example's index.

The index lets the training-time coupler (:mod:`latentzoo_sclt.coupling`) look up the
example's latent, including its fixed outlier contamination, after the batch iterator shuffles.
x is the flat 64-vector scaled to [0, 1]; y the digit.
"""

from __future__ import annotations

import attrs
import numpy as np
import torch
from latentzoo.config import option
from latentzoo.data import DataInfo, DataSplits
from latentzoo.errors import require

__all__ = ["DigitsConfig", "digits"]


@attrs.frozen
class DigitsConfig:
    num_train: int = option(1500, "training examples (the rest of the 1797 are the test split)", gt=0, lt=1797)
    split_seed: int = option(0, "seed of the fixed random split")


def digits(config: DigitsConfig, ctx) -> DataSplits:
    datasets = require("sklearn.datasets", "full", "sclt.digits")
    bunch = datasets.load_digits()
    x = torch.from_numpy((bunch.data / 16.0).astype(np.float32))
    y = torch.from_numpy(bunch.target.astype(np.int64))
    order = torch.from_numpy(np.random.default_rng(config.split_seed).permutation(len(x)))
    splits = {}
    for split, index in (("train", order[: config.num_train]), ("test", order[config.num_train:])):
        index = index.sort().values
        splits[split] = {"x": x[index], "y": y[index], "index": torch.arange(len(index))}
    return DataSplits(splits, DataInfo(input_shape=(64,), num_classes=10), name="sclt.digits")
