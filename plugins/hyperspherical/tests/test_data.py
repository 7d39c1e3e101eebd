"""Base/novel splits of sklearn digits and of .npz files."""

import numpy as np
import pytest
import torch
from latentzoo.errors import UserError
from latentzoo_hyperspherical.data import DigitsSplitConfig, base_novel_splits, digits_split


def test_digits_split_sizes_and_labels():
    data = digits_split(DigitsSplitConfig(), None)
    # sklearn digits 0-4 have 178, 182, 177, 183, 181 images; 30% of each (rounded) is held out
    assert data.size("test") == 53 + 55 + 53 + 55 + 54
    assert data.size("train") == 901 - 270
    assert data.size("novel") == 1797 - 901
    assert torch.unique(data.split("train")["y"]).tolist() == [0, 1, 2, 3, 4]
    assert torch.unique(data.split("novel")["y"]).tolist() == [5, 6, 7, 8, 9]
    assert data.info.num_classes == 5 and data.info.extras["num_novel"] == 5
    assert data.split("train")["x"].max() <= 1.0 and data.split("train")["x"].shape[1] == 64


def test_relabelling_puts_base_classes_first():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = np.array([7, 2, 7, 2, 5, 5])
    data = base_novel_splits(x, y, (7,), 0.5, 0, (2,), "toy")
    # base 7 -> 0; novel 2 -> 1, 5 -> 2 (increasing original label)
    assert data.split("train")["y"].tolist() == [0] and data.split("test")["y"].tolist() == [0]
    assert data.split("novel")["y"].tolist() == [1, 1, 2, 2]
    assert data.split("novel")["x"][:, 0].tolist() == [2.0, 6.0, 8.0, 10.0]
    assert data.info.extras["novel_labels"] == (2, 5)


def test_bad_inputs():
    with pytest.raises(UserError, match="at least one class"):
        digits_split(DigitsSplitConfig(base_classes=tuple(range(10))), None)
    with pytest.raises(UserError, match=r"base_classes \[11\]"):
        base_novel_splits(np.zeros((2, 1)), np.array([0, 1]), (0, 11), 0.5, 0, (1,), "toy")
