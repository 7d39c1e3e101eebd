"""Anchor selection follows the official code's conventions."""

import random

import numpy as np
import pytest
import torch
from latentzoo.build import BuildContext
from latentzoo.errors import UserError
from latentzoo_relreps.data import DigitsAnchoredConfig, digits_anchored, select_anchors


def test_uniform_is_the_repo_demo_procedure():
    # relreps_demo.ipynb: seed_everything(seed); sorted(random.sample(ids, K)) with the global RNG
    random.seed(3)
    expected = sorted(random.sample(list(range(100)), 7))
    assert select_anchors(None, 100, 7, "uniform", seed=3) == expected


def test_stratified_subset_is_round_robin_over_classes():
    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
    chosen = select_anchors(labels, 10, 7, "stratified_subset", seed=0)
    # rounds of one index per class in class order: classes 0,1,2,0,1,2,0
    assert labels[chosen].tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert len(set(chosen)) == 7
    # a class that runs out is skipped in later rounds
    chosen = select_anchors(np.array([0, 1, 1, 1]), 4, 4, "stratified_subset", seed=0)
    assert sorted(chosen) == [0, 1, 2, 3]


def test_too_many_anchors():
    with pytest.raises(UserError, match="larger than the training split"):
        select_anchors(None, 5, 6)


def test_digits_anchored_shares_anchor_inputs():
    a = digits_anchored(DigitsAnchoredConfig(num_anchors=10), BuildContext(seed=0))
    b = digits_anchored(DigitsAnchoredConfig(num_anchors=10), BuildContext(seed=5))
    index = a.info.extras["anchor_index"]
    assert index == b.info.extras["anchor_index"] == sorted(index) and len(index) == 10
    assert torch.equal(a.info.extras["anchors"], a.split("train")["x"][index])
    assert torch.equal(a.info.extras["anchors"], b.info.extras["anchors"])
    assert a.size("train") + a.size("test") == 1797
    assert 0.0 <= a.split("train")["x"].min() and a.split("train")["x"].max() <= 1.0


class _FakeMNIST:
    """Stands in for torchvision.datasets.MNIST: uint8 images N x 28 x 28, integer targets."""

    def __init__(self, root, train, download):
        assert download is False
        n = 30 if train else 10
        self.data = torch.arange(n * 28 * 28, dtype=torch.int64).remainder(256).to(torch.uint8).reshape(n, 28, 28)
        self.targets = torch.arange(n) % 10


def test_vision_anchored_with_a_local_folder(tmp_path, monkeypatch):
    import sys
    import types

    from latentzoo_relreps.data import VisionAnchoredConfig, vision_anchored

    fake = types.ModuleType("torchvision.datasets")
    fake.MNIST = _FakeMNIST
    monkeypatch.setitem(sys.modules, "torchvision", types.ModuleType("torchvision"))
    monkeypatch.setitem(sys.modules, "torchvision.datasets", fake)
    data = vision_anchored(VisionAnchoredConfig(root=str(tmp_path), num_anchors=12), BuildContext())
    assert data.info.input_shape == (1, 28, 28) and data.info.num_classes == 10
    assert data.split("train")["x"].max() == 1.0 and data.size("test") == 10
    # stratified_subset: 12 anchors = one per class, then classes 0 and 1 again
    assert data.info.extras["anchor_labels"].tolist() == list(range(10)) + [0, 1]
    with pytest.raises(UserError, match="does not exist"):
        vision_anchored(VisionAnchoredConfig(root=str(tmp_path / "missing")), BuildContext())


def test_vision_anchored_without_torchvision(monkeypatch):
    import sys

    from latentzoo_relreps.data import VisionAnchoredConfig, vision_anchored

    monkeypatch.setitem(sys.modules, "torchvision", None)   # import fails as if not installed
    monkeypatch.setitem(sys.modules, "torchvision.datasets", None)
    with pytest.raises(UserError, match=r"latentzoo-relreps\[real\]"):
        vision_anchored(VisionAnchoredConfig(), BuildContext())
