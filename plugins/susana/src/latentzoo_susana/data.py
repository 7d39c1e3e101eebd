"""Few-shot data: digit classes split into base (training episodes) and novel (test episodes).

The paper trains on the base classes of miniImageNet / CUB and tests on disjoint novel classes
(arXiv 2305.09062, Sec. 4). The CPU-scale stand-in splits the ten digit classes of sklearn's
8x8 digits (or of MNIST-1D) into base classes {0..4} and novel classes {5..9}:

- ``train``: base-class examples minus a stratified 20% hold-out;
- ``val``: that hold-out (same classes as ``train``: a validation of the episode task);
- ``test``: every example of the novel classes.

Labels keep their digit values; episodes relabel classes 0..way-1.

``source = "file"`` loads a real few-shot benchmark the user has prepared (e.g. miniImageNet
at 84x84): a ``torch.save``'d dict ``{"train": {"x", "y"}, "val": {...}, "test": {...}}`` whose
splits already hold disjoint classes; ``base_classes``/``novel_classes`` are then not used.
"""

from __future__ import annotations

import attrs
import numpy as np
import torch
from latentzoo.config import option
from latentzoo.data import DataInfo, DataSplits
from latentzoo.errors import require

__all__ = ["FewShotDataConfig", "fewshot_digits"]


@attrs.frozen
class FewShotDataConfig:
    source: str = option("digits", "sklearn 8x8 digits (1x8x8 images, /16), mnist1d (1x40 signals), "
                         "or file (pre-split tensors at 'path')", choices=("digits", "mnist1d", "file"))
    path: str = option("", "file only: torch.save'd {'train': {'x', 'y'}, 'val': ..., 'test': ...}")
    base_classes: tuple[int, ...] = option((0, 1, 2, 3, 4), "classes of the training episodes",
                                           ge=0, le=9)
    novel_classes: tuple[int, ...] = option((5, 6, 7, 8, 9), "classes of the test episodes", ge=0, le=9)
    val_fraction: float = option(0.2, "fraction of each base class held out as the 'val' split",
                                 ge=0, lt=1)
    split_seed: int = option(0, "seed of the base-class train/val split")
    mnist1d_samples: int = option(4000, "mnist1d only: examples generated", gt=100)

    def __attrs_post_init__(self):
        for name in ("base_classes", "novel_classes"):
            values = getattr(self, name)
            if len(values) < 2:
                raise ValueError(f"{name} needs at least 2 classes, found {list(values)}")
            if len(set(values)) != len(values):
                raise ValueError(f"{name} lists a class twice: {list(values)}")
        shared = sorted(set(self.base_classes) & set(self.novel_classes))
        if shared:
            raise ValueError(f"base_classes and novel_classes must be disjoint; both contain {shared}")


def _load(config: FewShotDataConfig) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    if config.source == "digits":
        datasets = require("sklearn.datasets", "full", "susana.digits_fewshot")
        bunch = datasets.load_digits()
        return (bunch.data / 16.0).astype(np.float32), bunch.target.astype(np.int64), (1, 8, 8)
    mnist_data = require("mnist1d.data", "full", "susana.digits_fewshot (source=mnist1d)")
    args = mnist_data.get_dataset_args()
    args.num_samples = config.mnist1d_samples
    raw = mnist_data.make_dataset(args)
    x = np.concatenate([np.asarray(raw["x"]), np.asarray(raw["x_test"])]).astype(np.float32)
    y = np.concatenate([np.asarray(raw["y"]), np.asarray(raw["y_test"])]).astype(np.int64)
    return x, y, (1, 40)


def _from_file(config: FewShotDataConfig) -> DataSplits:
    from pathlib import Path

    from latentzoo.errors import MissingDataError

    path = Path(config.path).expanduser()
    if not config.path or not path.is_file():
        raise MissingDataError(
            f"susana.digits_fewshot (source=file): no file at path = {config.path!r}. Prepare the "
            "benchmark (e.g. miniImageNet, Ravi & Larochelle splits, images resized to 84x84, "
            "float in [0, 1]) as torch.save({'train': {'x': N x 3 x 84 x 84, 'y': N}, 'val': ..., "
            "'test': ...}, path)")
    raw = torch.load(path, map_location="cpu", weights_only=True)
    missing = [s for s in ("train", "test") if s not in raw]
    if missing:
        raise ValueError(f"{path} has no split(s) {missing}; it needs 'train' and 'test' (and 'val')")
    splits = {name: {"x": torch.as_tensor(t["x"]).float(), "y": torch.as_tensor(t["y"]).long()}
              for name, t in raw.items()}
    shape = tuple(splits["train"]["x"].shape[1:])
    info = DataInfo(input_shape=shape, num_classes=int(torch.unique(splits["train"]["y"]).numel()))
    return DataSplits(splits, info, name="susana.digits_fewshot")


def fewshot_digits(config: FewShotDataConfig, ctx=None) -> DataSplits:
    if config.source == "file":
        return _from_file(config)
    x, y, shape = _load(config)
    rng = np.random.default_rng(config.split_seed)
    train, val = [], []
    for label in config.base_classes:
        index = rng.permutation(np.flatnonzero(y == label))
        cut = int(round(len(index) * config.val_fraction))
        val.append(index[:cut])
        train.append(index[cut:])
    novel = np.flatnonzero(np.isin(y, config.novel_classes))
    x_t = torch.from_numpy(x).reshape(-1, *shape)
    y_t = torch.from_numpy(y)

    def take(index: np.ndarray) -> dict[str, torch.Tensor]:
        index = torch.from_numpy(np.sort(index))
        return {"x": x_t[index], "y": y_t[index]}

    splits = {"train": take(np.concatenate(train)), "test": take(novel)}
    if config.val_fraction > 0:
        splits["val"] = take(np.concatenate(val))
    info = DataInfo(input_shape=shape, num_classes=len(config.base_classes),
                    extras={"base_classes": tuple(config.base_classes),
                            "novel_classes": tuple(config.novel_classes)})
    return DataSplits(splits, info, name="susana.digits_fewshot")
