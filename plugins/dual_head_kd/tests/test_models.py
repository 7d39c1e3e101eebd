"""The dual-head student and the 1-D CNN teacher."""

import pytest
import torch
import torch.nn.functional as F
from latentzoo.build import BuildContext
from latentzoo.config import structure
from latentzoo.data import DataInfo
from latentzoo.errors import UserError
from latentzoo_dual_head_kd.models import Conv1dConfig, DualHeadConfig, conv1d, dual_head
from latentzoo_dual_head_kd.objectives import binary_kl_norm
from torch import nn

CTX = BuildContext(data=DataInfo(input_shape=(40,), num_classes=10))


def _grads(module):
    return [p.grad for p in module.parameters()]


def test_each_head_gets_only_its_own_loss_and_the_backbone_both():
    # spec test 3
    torch.manual_seed(0)
    model = dual_head(DualHeadConfig(hidden=(16,), head2="linear"), CTX)
    x, y, z_t = torch.randn(8, 40), torch.randint(0, 10, (8,)), torch.randn(8, 10)
    z1, _ = model.forward_heads(x)
    F.cross_entropy(z1, y).backward()
    assert all(g is None for g in _grads(model.head2))
    assert all(g is not None and g.abs().sum() > 0 for g in _grads(model.head1))
    ce_backbone = [g.clone() for g in _grads(model.backbone)]
    model.zero_grad(set_to_none=True)
    _, z2 = model.forward_heads(x)
    binary_kl_norm(z2, z_t).backward()
    assert all(g is None for g in _grads(model.head1))
    assert all(g is not None and g.abs().sum() > 0 for g in _grads(model.head2))
    kd_backbone = _grads(model.backbone)
    assert all(a.abs().sum() > 0 and b.abs().sum() > 0 for a, b in zip(ce_backbone, kd_backbone))


def test_forward_is_head_one_and_embed_is_the_backbone():
    model = dual_head(DualHeadConfig(hidden=(16, 8)), CTX).eval()
    x = torch.randn(5, 40)
    z1, z2 = model.forward_heads(x)
    assert torch.equal(model(x), z1) and z2.shape == (5, 10)
    assert model.embed(x).shape == (5, 8) and model.feature_dim == 8


def test_mlp_head_two_is_the_official_nonlinear_classifier():
    model = dual_head(DualHeadConfig(hidden=(16,), head2="mlp"), CTX)
    layers = list(model.head2.net)
    assert [type(m) for m in layers] == [nn.Linear, nn.Dropout, nn.BatchNorm1d, nn.ReLU, nn.Linear]
    assert (layers[0].in_features, layers[0].out_features, layers[1].p) == (16, 200, 0.1)
    assert (layers[4].in_features, layers[4].out_features) == (200, 10)


def test_no_auxiliary_head_gives_the_single_head_student():
    model = dual_head(DualHeadConfig(hidden=(16,), head2="none"), CTX)
    assert model.head2 is None and model.forward_heads(torch.randn(2, 40))[1] is None
    single = sum(p.numel() for p in model.parameters())
    assert single == 40 * 16 + 16 + 16 * 10 + 10


def test_conv1d_shapes():
    teacher = conv1d(Conv1dConfig(channels=(16, 32, 32)), CTX)
    assert teacher.feature_dim == 32 * 5  # 40 -> 20 -> 10 -> 5
    assert teacher(torch.randn(3, 40)).shape == (3, 10)
    student = dual_head(DualHeadConfig(backbone="conv1d", channels=(8,)), CTX)
    assert student.forward_heads(torch.randn(3, 40))[1].shape == (3, 10)
    with pytest.raises(UserError, match="signals shaped"):
        conv1d(Conv1dConfig(), BuildContext(data=DataInfo(input_shape=(1, 8, 8), num_classes=10)))


def test_config_ranges_are_checked():
    with pytest.raises(UserError, match="head2"):
        structure({"head2": "deep"}, DualHeadConfig)
    with pytest.raises(UserError, match="head2_dropout"):
        structure({"head2_dropout": 1.0}, DualHeadConfig)
    with pytest.raises(UserError, match="hidden"):
        structure({"hidden": [0]}, DualHeadConfig)
