import pytest
import torch
from latentzoo.data import DataInfo, DataSplits
from latentzoo.evaluation import Evaluator
from torch import nn


class OneProcess:
    """The part of an accelerate.Accelerator that Evaluator uses, for one CPU process."""

    process_index = 0
    num_processes = 1
    device = torch.device("cpu")

    def autocast(self):
        import contextlib

        return contextlib.nullcontext()

    def gather(self, tensor):
        return tensor


@pytest.fixture
def evaluator_for():
    def make(model: nn.Module, splits: dict, num_classes: int, split: str = "test") -> Evaluator:
        data = DataSplits(splits, DataInfo(input_shape=tuple(splits["test"]["x"].shape[1:]),
                                           num_classes=num_classes))
        return Evaluator(OneProcess(), model=model, data=data, split=split)

    return make
