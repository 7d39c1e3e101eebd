"""Base/novel class splits for novel-class classification (arXiv 2102.03243, Sec. 4).

The classifier is trained on the *base* classes only; the *novel* classes are never seen in
training and are added afterwards from a few labelled examples (``novel.add_class``).

Splits of every dataset built here:

- ``train``: base classes, stratified (1 - test_fraction) part: what the model trains on.
- ``test``: base classes, the held-out stratified part (base items of the joint scenario).
- ``novel``: every example of the novel classes: the pool from which the metrics draw support
  (K shots per class) and query examples.

Labels: base classes are ``0 .. C-1`` and novel classes ``C .. C+C'-1`` (in increasing order of
the original label), so that the joint classifier's appended rows line up with the novel labels.
``DataInfo.num_classes`` is C, the number of classes the model is trained on.
"""

from __future__ import annotations

import attrs
import numpy as np
import torch
from latentzoo.config import option
from latentzoo.data import DataInfo, DataSplits
from latentzoo.errors import UserError, require


def base_novel_splits(x: np.ndarray, y: np.ndarray, base_classes: tuple[int, ...],
                      test_fraction: float, split_seed: int, shape: tuple[int, ...],
                      name: str) -> DataSplits:
    """Relabel (base first, then novel) and split base classes stratified into train/test.

    Args:
        x: inputs, ``(N, ...)`` float.
        y: original integer labels, ``(N,)``.
        base_classes: original labels of the base classes; every other label is novel.
        test_fraction: fraction of each base class held out for ``test``.
        split_seed: seed of the stratified split.
        shape: per-example input shape of the returned tensors.
        name: the data component's name (for errors and ``DataSplits.name``).
    """
    labels = np.unique(y)
    unknown = sorted(set(base_classes) - set(labels.tolist()))
    if unknown:
        raise UserError(f"base_classes {unknown} do not occur in the data (labels: {labels.tolist()})")
    base = sorted(set(base_classes))
    novel = [int(label) for label in labels if label not in set(base)]
    if not novel:
        raise UserError("every class is a base class: leave at least one class out as novel")
    order = {label: index for index, label in enumerate([*base, *novel])}
    relabelled = np.array([order[int(label)] for label in y], dtype=np.int64)

    rng = np.random.default_rng(split_seed)
    train, test = [], []
    for label in base:
        index = rng.permutation(np.flatnonzero(y == label))
        cut = int(round(len(index) * test_fraction))
        test.append(index[:cut])
        train.append(index[cut:])
    train_index, test_index = np.sort(np.concatenate(train)), np.sort(np.concatenate(test))
    novel_index = np.flatnonzero(np.isin(y, novel))

    x_t = torch.as_tensor(x, dtype=torch.float32).reshape(len(x), *shape)
    y_t = torch.from_numpy(relabelled)

    def take(index: np.ndarray) -> dict[str, torch.Tensor]:
        index_t = torch.from_numpy(index)
        return {"x": x_t[index_t], "y": y_t[index_t]}

    info = DataInfo(input_shape=shape, num_classes=len(base),
                    extras={"num_base": len(base), "num_novel": len(novel),
                            "base_labels": tuple(base), "novel_labels": tuple(novel)})
    return DataSplits({"train": take(train_index), "test": take(test_index),
                       "novel": take(novel_index)}, info, name=name)


# ---------------------------------------------------------------------------------------------
# sklearn digits (the small-scale reproduction)
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class DigitsSplitConfig:
    base_classes: tuple[int, ...] = option((0, 1, 2, 3, 4), "digits trained on; the others are novel",
                                           ge=0, le=9)
    test_fraction: float = option(0.3, "fraction of each base class held out for 'test'", gt=0, lt=1)
    split_seed: int = option(0, "seed of the stratified base train/test split")


def digits_split(config: DigitsSplitConfig, ctx) -> DataSplits:
    """sklearn's 8x8 digits / 16: base digits 0-4 split 70/30, novel digits 5-9 kept whole."""
    datasets = require("sklearn.datasets", "full", "hyperspherical.digits_split")
    bunch = datasets.load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    return base_novel_splits(x, bunch.target.astype(np.int64), config.base_classes,
                             config.test_fraction, config.split_seed, (64,),
                             "hyperspherical.digits_split")


# ---------------------------------------------------------------------------------------------
# MNIST-1D (a larger, harder benchmark for real-scale configs)
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class Mnist1dSplitConfig:
    num_samples: int = option(2000, "signals generated in all (the package's default is 5000)", gt=10)
    seed: int = option(42, "generator seed (the package's default is 42)")
    base_classes: tuple[int, ...] = option((0, 1, 2, 3, 4), "digit templates trained on; the others "
                                           "are novel", ge=0, le=9)
    test_fraction: float = option(0.3, "fraction of each base class held out for 'test'", gt=0, lt=1)
    split_seed: int = option(0, "seed of the stratified base train/test split")


def mnist1d_split(config: Mnist1dSplitConfig, ctx) -> DataSplits:
    """MNIST-1D (Greydanus 2020), generated offline by the ``mnist1d`` package: 40-sample
    signals of 10 digit templates; base templates 0-4, novel 5-9."""
    mnist_data = require("mnist1d.data", "full", "hyperspherical.mnist1d_split")
    args = mnist_data.get_dataset_args()
    args.num_samples = config.num_samples
    args.seed = config.seed
    raw = mnist_data.make_dataset(args)
    x = np.concatenate([np.asarray(raw["x"]), np.asarray(raw["x_test"])]).astype(np.float32)
    y = np.concatenate([np.asarray(raw["y"]), np.asarray(raw["y_test"])]).astype(np.int64)
    return base_novel_splits(x, y, config.base_classes, config.test_fraction, config.split_seed,
                             (40,), "hyperspherical.mnist1d_split")
