"""The loss modules: frozen teacher, head routing, presets, gradient alignment in the loss."""

import copy

import pytest
import torch
import torch.nn.functional as F
from latentzoo.build import BuildContext
from latentzoo.config import structure
from latentzoo.data import DataInfo
from latentzoo.errors import UserError
from latentzoo_dual_head_kd.losses import (
    DHKDConfig,
    KDConfig,
    LogitLossConfig,
    SingleHeadConfig,
    binary_kl,
    dhkd,
    kd,
    single_head_ce_bkl,
)
from latentzoo_dual_head_kd.models import Conv1dConfig, DualHeadConfig, conv1d, dual_head
from latentzoo_dual_head_kd.objectives import binary_kl as binary_kl_fn
from latentzoo_dual_head_kd.objectives import binary_kl_norm, softmax_kd

INFO = DataInfo(input_shape=(40,), num_classes=10)


def _setup(head2="linear", seed=0):
    torch.manual_seed(seed)
    teacher = conv1d(Conv1dConfig(channels=(4, 4)), BuildContext(data=INFO))
    ctx = BuildContext(data=INFO, artifacts={"teacher": teacher})
    student = dual_head(DualHeadConfig(hidden=(12,), head2=head2), ctx)
    batch = {"x": torch.randn(16, 40), "y": torch.randint(0, 10, (16,))}
    return teacher, ctx, student, batch


def test_teacher_is_a_frozen_copy_in_eval_mode():
    teacher, ctx, student, batch = _setup()
    loss = dhkd(DHKDConfig(), ctx)
    loss.train()
    assert not loss.teacher.training and not loss.teacher.model.training
    assert all(not p.requires_grad for p in loss.teacher.parameters())
    assert not [p for p in loss.parameters() if p.requires_grad]  # nothing joins the optimiser
    assert all(p.requires_grad for p in teacher.parameters())  # the artifact itself is untouched
    assert loss.teacher.model is not teacher


def test_dhkd_value_is_ce_on_head1_plus_binary_kl_norm_on_head2():
    teacher, ctx, student, batch = _setup()
    loss = dhkd(DHKDConfig(weight=0.5, grad_align=False), ctx)
    out = loss(student, batch)
    teacher.eval()
    z1, z2 = student.forward_heads(batch["x"])
    z_t = teacher(batch["x"]).detach()
    expected = F.cross_entropy(z1, batch["y"]) + 0.5 * binary_kl_norm(z2, z_t, 2.0)
    assert out["loss"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_single_head_ablation_and_kd_act_on_head_one():
    teacher, ctx, student, batch = _setup(head2="none")
    teacher.eval()
    z1, z_t = student(batch["x"]), teacher(batch["x"]).detach()
    ce = F.cross_entropy(z1, batch["y"])
    value = single_head_ce_bkl(SingleHeadConfig(weight=4.0), ctx)(student, batch)["loss"]
    assert value.item() == pytest.approx((ce + 4 * binary_kl_fn(z1, z_t, 2.0)).item(), rel=1e-5)
    value = kd(KDConfig(), ctx)(student, batch)["loss"]
    assert value.item() == pytest.approx((ce + softmax_kd(z1, z_t, 4.0)).item(), rel=1e-5)
    value = binary_kl(LogitLossConfig(), ctx)(student, batch)["loss"]  # pure distillation, γ = 0
    assert value.item() == pytest.approx(binary_kl_fn(z1, z_t, 2.0).item(), rel=1e-5)


def test_dhkd_with_grad_align_matches_two_separate_backward_passes():
    # the official OptimGradAlign: g_ce, g_kd by separate backwards (zeros where unreached),
    # g_kd -= <g_kd, g_ce>/|g_ce|^2 g_ce if the dot is < 0, grad = g_ce + g_kd
    teacher, ctx, student, batch = _setup(seed=3)
    reference = copy.deepcopy(student)
    out = dhkd(DHKDConfig(grad_align=True), ctx)(student, batch)
    out["loss"].backward()
    teacher.eval()
    z_t = teacher(batch["x"]).detach()
    params = list(reference.parameters())
    flat = []
    for objective in ("ce", "kd"):
        reference.zero_grad(set_to_none=True)
        z1, z2 = reference.forward_heads(batch["x"])
        (F.cross_entropy(z1, batch["y"]) if objective == "ce" else binary_kl_norm(z2, z_t, 2.0)).backward()
        flat.append(torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in params]))
    g_ce, g_kd = flat
    dot = torch.dot(g_kd, g_ce)
    if dot < 0:
        g_kd = g_kd - dot / g_ce.norm() ** 2 * g_ce
    expected = g_ce + g_kd
    got = torch.cat([p.grad.flatten() for p in student.parameters()])
    assert torch.allclose(got, expected, atol=1e-6)
    assert out["ga_conflict"].item() == float(dot < 0)
    z1, z2 = reference.forward_heads(batch["x"])
    plain = F.cross_entropy(z1, batch["y"]) + binary_kl_norm(z2, z_t, 2.0)
    assert out["loss"].item() == pytest.approx(plain.item(), rel=1e-5)  # GA keeps the value


def test_missing_teacher_names_the_inputs_setting():
    with pytest.raises(UserError, match=r"inputs = \{ teacher"):
        dhkd(DHKDConfig(), BuildContext(data=INFO))


def test_dhkd_needs_a_second_head():
    _, ctx, student, batch = _setup(head2="none")
    with pytest.raises(UserError, match="head2 = 'none'"):
        dhkd(DHKDConfig(), ctx)(student, batch)


def test_config_ranges_are_checked():
    with pytest.raises(UserError, match="weight"):
        structure({"weight": 0.0}, DHKDConfig)
    with pytest.raises(UserError, match="temperature"):
        structure({"temperature": -1.0}, KDConfig)
    with pytest.raises(UserError, match="clamp"):
        structure({"clamp": "clip"}, LogitLossConfig)
    with pytest.raises(UserError, match="ce_weight"):
        dhkd(DHKDConfig(ce_weight=0.0), BuildContext(data=INFO, artifacts={"teacher": torch.nn.Linear(40, 10)}))
