"""Anchored data: a dataset plus a fixed set of K anchor samples shared by every model.

Relative representations (Moschella et al., ICLR 2023, arXiv 2209.15430, Sec. 3.1) describe a
sample by its similarities to anchors a_1..a_K drawn from the training set. Zero-shot stitching
needs *parallel* anchors: every model embeds the same anchor *inputs* with its own encoder. The
anchor indices therefore depend only on the data's config (mode, seed), never on a model.

Two data components: ``relreps.digits_anchored`` (sklearn digits, offline, the CPU reproduction) and
``relreps.vision_anchored`` (MNIST / Fashion-MNIST / CIFAR from a local torchvision download, the
paper's real-scale vision setting). Both put the anchors in ``DataInfo.extras``.

Anchor selection follows the official code (github.com/lucmos/relreps):

- ``uniform``: ``random.seed(seed); sorted(random.sample(range(N), K))``
  (``experiments/demo/relreps_demo.ipynb``, ``LatentSpace.get_anchors``).
- ``stratified_subset``: the training indices and labels are shuffled together with
  ``sklearn.utils.shuffle(..., random_state=seed)``, then one index per class is taken in class
  order, round after round, until K are chosen
  (``src/rae/data/vision/datamodule.py``, ``get_anchors``, ``AnchorsMode.STRATIFIED_SUBSET``).
"""

from __future__ import annotations

import random
from pathlib import Path

import attrs
import numpy as np
import torch
from latentzoo.config import option
from latentzoo.data import DataInfo, DataSplits
from latentzoo.errors import UserError, require

__all__ = ["ANCHOR_MODES", "DigitsAnchoredConfig", "digits_anchored", "VisionAnchoredConfig",
           "vision_anchored", "select_anchors"]

ANCHOR_MODES = ("uniform", "stratified_subset")


def select_anchors(labels: torch.Tensor | np.ndarray | None, size: int, num_anchors: int,
                   mode: str = "uniform", seed: int = 0) -> list[int]:
    """Indices of ``num_anchors`` anchors among ``size`` training samples.

    Args:
        labels: training labels (needed by ``stratified_subset`` only).
        size: number of training samples N.
        num_anchors: K.
        mode: ``uniform`` or ``stratified_subset`` (see the module docstring).
        seed: selection seed; the same seed gives the same anchors for every model.
    """
    if num_anchors > size:
        raise UserError(f"num_anchors = {num_anchors} is larger than the training split "
                        f"({size} samples); choose at most {size}")
    if mode == "uniform":
        return sorted(random.Random(seed).sample(range(size), num_anchors))
    if mode == "stratified_subset":
        if labels is None:
            raise UserError("anchor_mode 'stratified_subset' needs labels 'y' in the training split")
        utils = require("sklearn.utils", "full", "relreps stratified_subset anchors")
        labels = np.asarray(labels)
        shuffled_index, shuffled_labels = utils.shuffle(np.arange(size), labels, random_state=seed)
        by_class = {c: shuffled_index[shuffled_labels == c] for c in sorted(set(shuffled_labels.tolist()))}
        chosen: list[int] = []
        round_ = 0
        while len(chosen) < num_anchors:
            for members in by_class.values():
                if round_ < len(members):
                    chosen.append(int(members[round_]))
                    if len(chosen) == num_anchors:
                        break
            round_ += 1
        return chosen
    raise UserError(f"anchor_mode must be one of {', '.join(ANCHOR_MODES)}, found {mode!r}")


@attrs.frozen
class DigitsAnchoredConfig:
    num_anchors: int = option(64, "number of anchors K (the official repo uses 300-500 on larger data)", gt=0)
    anchor_mode: str = option("uniform", "how anchors are chosen from the training split", choices=ANCHOR_MODES)
    anchor_seed: int = option(0, "seed of the anchor choice (the same for every model)")
    test_fraction: float = option(1 / 3, "fraction of each class held out for the test split", gt=0, lt=1)
    split_seed: int = option(0, "seed of the fixed stratified train/test split")


def digits_anchored(config: DigitsAnchoredConfig, ctx) -> DataSplits:
    """sklearn 8x8 digits scaled to [0, 1] (as ``builtin.digits``) with a fixed anchor set.

    ``info.extras``: ``anchor_index`` (list of training indices), ``anchors`` (K x 64 inputs),
    ``anchor_labels`` (K).
    """
    from latentzoo.builtin.datasets import DigitsConfig, digits

    data = digits(DigitsConfig(test_fraction=config.test_fraction, split_seed=config.split_seed), ctx)
    train = data.split("train")
    index = select_anchors(train["y"], len(train["x"]), config.num_anchors, config.anchor_mode,
                           config.anchor_seed)
    data.info.extras.update(anchor_index=index, anchors=train["x"][index].clone(),
                            anchor_labels=train["y"][index].clone())
    data.name = "relreps.digits_anchored"
    return data


# ---------------------------------------------------------------------------------------------
# Real scale: the paper's vision datasets, read from a local torchvision folder
# ---------------------------------------------------------------------------------------------

_VISION = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR10", "cifar100": "CIFAR100"}


@attrs.frozen
class VisionAnchoredConfig:
    dataset: str = option("mnist", "torchvision dataset of the paper's Sec. 5 experiments", choices=tuple(_VISION))
    root: str = option("data", "folder holding the torchvision download (nothing is downloaded)")
    num_anchors: int = option(500, "number of anchors K (repo vision configs: 500)", gt=0)
    anchor_mode: str = option("stratified_subset", "anchor choice (repo vision default: stratified_subset)",
                              choices=ANCHOR_MODES)
    anchor_seed: int = option(0, "seed of the anchor choice (the same for every model)")


def _vision_split(module, config: VisionAnchoredConfig, train: bool) -> dict[str, torch.Tensor]:
    cls = getattr(module, _VISION[config.dataset])
    try:
        dataset = cls(root=config.root, train=train, download=False)
    except RuntimeError as error:  # torchvision: "Dataset not found or corrupted"
        raise UserError(f"relreps.vision_anchored: {config.dataset} is not in '{config.root}' ({error}); "
                        f"download it once with torchvision.datasets.{_VISION[config.dataset]}"
                        f"(root='{config.root}', download=True) on a machine with internet access") from None
    images = torch.as_tensor(np.asarray(dataset.data)).float() / 255.0
    images = images.unsqueeze(1) if images.dim() == 3 else images.permute(0, 3, 1, 2)  # N x C x H x W
    return {"x": images.contiguous(), "y": torch.as_tensor(np.asarray(dataset.targets), dtype=torch.int64)}


def vision_anchored(config: VisionAnchoredConfig, ctx) -> DataSplits:
    """MNIST / Fashion-MNIST / CIFAR-10 / CIFAR-100 in [0, 1] with a fixed anchor set (real scale).

    Needs ``torchvision`` and the dataset already downloaded under ``root``.
    """
    try:
        import torchvision.datasets as module
    except ImportError as error:
        raise UserError(f"relreps.vision_anchored reads torchvision datasets, but torchvision is not "
                        f"installed ({error}): pip install 'latentzoo-relreps[real]'") from None
    if not Path(config.root).is_dir():
        raise UserError(f"relreps.vision_anchored: data folder '{config.root}' does not exist; set "
                        "root to the folder of a torchvision download of " + _VISION[config.dataset])
    train, test = _vision_split(module, config, True), _vision_split(module, config, False)
    index = select_anchors(train["y"], len(train["x"]), config.num_anchors, config.anchor_mode,
                           config.anchor_seed)
    classes = int(train["y"].max()) + 1
    info = DataInfo(input_shape=tuple(train["x"].shape[1:]), num_classes=classes,
                    extras={"anchor_index": index, "anchors": train["x"][index].clone(),
                            "anchor_labels": train["y"][index].clone()})
    return DataSplits({"train": train, "test": test}, info, name="relreps.vision_anchored")
