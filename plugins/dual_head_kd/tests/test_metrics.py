"""Head-1 accuracy and the CE-head geometry diagnostic, on hand-made inputs."""

import math

import pytest
import torch
from latentzoo.build import BuildContext
from latentzoo.data import DataInfo
from latentzoo_dual_head_kd.metrics import (
    HeadGeometryConfig,
    Top1Config,
    head_geometry,
    head_statistics,
    top1_head1,
)
from latentzoo_dual_head_kd.models import DualHeadConfig, dual_head
from torch import nn


class StubEvaluator:
    """Just what the metrics use: model, labels(), predict(fn) over one batch."""

    def __init__(self, model, x, y):
        self.model, self.x, self.y = model, x, y

    def labels(self, split=None):
        return self.y

    def predict(self, fn, split=None, model=None):
        return fn(self.model, {"x": self.x, "y": self.y})


def test_head_statistics_hand_value():
    # rows [1,0], [0,2], [-1,0]: cosines 0, -1, 0 -> mean -1/3; norms 1, 2, 1 -> mean 4/3,
    # population std sqrt(2)/3 -> CV = (sqrt(2)/3) / (4/3) = sqrt(2)/4
    stats = head_statistics(torch.tensor([[1.0, 0.0], [0.0, 2.0], [-1.0, 0.0]]))
    assert stats["mean_cosine"] == pytest.approx(-1 / 3)
    assert stats["norm_mean"] == pytest.approx(4 / 3)
    assert stats["norm_cv"] == pytest.approx(math.sqrt(2) / 4)


def test_head_geometry_reads_head_one():
    model = dual_head(DualHeadConfig(hidden=(2,), out_dim=3), BuildContext(data=DataInfo((4,), 3)))
    with torch.no_grad():
        model.head1.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0], [-1.0, 0.0]]))
    values = head_geometry(HeadGeometryConfig(), None)(StubEvaluator(model, None, None))
    assert values["head1_mean_cosine"] == pytest.approx(-1 / 3)


def test_top1_uses_head_one_and_reports_head_two():
    model = dual_head(DualHeadConfig(hidden=(2,), out_dim=2), BuildContext(data=DataInfo((2,), 2)))
    with torch.no_grad():  # backbone = ReLU(identity); head1 picks the larger coordinate, head2 the smaller
        model.backbone.layers[0].weight.copy_(torch.eye(2))
        model.backbone.layers[0].bias.zero_()
        model.head1.weight.copy_(torch.eye(2))
        model.head1.bias.zero_()
        model.head2.weight.copy_(-torch.eye(2))
        model.head2.bias.zero_()
    x = torch.tensor([[2.0, 1.0], [1.0, 3.0], [0.5, 4.0], [5.0, 1.0]])
    y = torch.tensor([0, 1, 0, 0])  # head 1 predicts 0, 1, 1, 0 -> 3/4; head 2: 1, 0, 0, 1 -> 1/4
    values = top1_head1(Top1Config(), None)(StubEvaluator(model, x, y))
    assert values == {"top1": 0.75, "top1_head2": 0.25}
    single = nn.Linear(2, 2)
    with torch.no_grad():
        single.weight.copy_(torch.eye(2))
        single.bias.zero_()
    assert top1_head1(Top1Config(), None)(StubEvaluator(single, x, y)) == {"top1": 0.75}
