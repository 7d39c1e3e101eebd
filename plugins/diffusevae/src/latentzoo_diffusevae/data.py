"""The spec's data: sklearn's 8x8 digits scaled by 1/16 to [0, 1], 1500 train / 297 test; and
CIFAR-10 (3x32x32 in [0, 1]) from a local torchvision folder for the real-scale config.

The split is stratified by class and fixed by ``split_seed`` (sklearn ``train_test_split``). The
VAE reads the data as is ([0, 1]); the DDPM maps it to [−1, 1] inside its loss and sampler.
"""

from __future__ import annotations

import attrs
import numpy as np
import torch
from latentzoo.config import option
from latentzoo.data import DataInfo, DataSplits
from latentzoo.errors import MissingDataError, UserError, require

__all__ = ["DigitsConfig", "digits", "Cifar10Config", "cifar10"]


@attrs.frozen
class DigitsConfig:
    test_size: int = option(297, "held-out digits (1797 in all; the rest train)", gt=9, lt=1788)
    split_seed: int = option(0, "seed of the stratified split")
    image: bool = option(False, "x as 1x8x8 images (true) or flat 64-vectors (false)")


def digits(config: DigitsConfig, ctx) -> DataSplits:
    datasets = require("sklearn.datasets", "full", "diffusevae.digits")
    selection = require("sklearn.model_selection", "full", "diffusevae.digits")
    bunch = datasets.load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    try:
        train, test = selection.train_test_split(np.arange(len(y)), test_size=config.test_size,
                                                 stratify=y, random_state=config.split_seed)
    except ValueError as error:
        raise UserError(f"test_size = {config.test_size}: {error}") from None
    train, test = np.sort(train), np.sort(test)
    shape = (1, 8, 8) if config.image else (64,)
    x_t = torch.from_numpy(x).reshape(-1, *shape)
    y_t = torch.from_numpy(y)
    return DataSplits(
        {"train": {"x": x_t[train], "y": y_t[train]}, "test": {"x": x_t[test], "y": y_t[test]}},
        DataInfo(input_shape=shape, num_classes=10), name="diffusevae.digits")


@attrs.frozen
class Cifar10Config:
    root: str = option("data", "folder holding torchvision's cifar-10-batches-py")
    train_limit: int = option(0, "use only this many training images (0: all 50000)", ge=0)


def cifar10(config: Cifar10Config, ctx) -> DataSplits:
    """CIFAR-10 in [0, 1] (the paper's main benchmark); never downloads."""
    from pathlib import Path

    folder = Path(config.root) / "cifar-10-batches-py"
    if not folder.is_dir():
        raise MissingDataError(
            f"{folder} not found; download it once with "
            f"`python -c \"import torchvision; torchvision.datasets.CIFAR10('{config.root}', download=True)\"`")
    datasets = require("torchvision.datasets", "real", "diffusevae.cifar10",
                       hint="pip install 'latentzoo-diffusevae[real]'")
    splits = {}
    for name, train in (("train", True), ("test", False)):
        raw = datasets.CIFAR10(config.root, train=train, download=False)
        x = torch.from_numpy(np.asarray(raw.data)).permute(0, 3, 1, 2).float() / 255.0
        y = torch.tensor(raw.targets)
        if train and config.train_limit:
            x, y = x[: config.train_limit], y[: config.train_limit]
        splits[name] = {"x": x, "y": y}
    return DataSplits(splits, DataInfo(input_shape=(3, 32, 32), num_classes=10), name="diffusevae.cifar10")
