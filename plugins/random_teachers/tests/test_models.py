"""Networks and student initialisation of arXiv 2302.12091 (spec tests 4 and 6)."""

import math

import attrs
import pytest
import torch
from latentzoo.build import BuildContext
from latentzoo.data import DataInfo
from latentzoo.errors import UserError
from latentzoo_random_teachers.models import (
    NetConfig,
    StudentConfig,
    build_network,
    init_student,
    student,
)


def _net(seed=0, **arch):
    config = attrs.asdict(NetConfig(**({"hidden": (8, 8), "head_hidden": (8,), "bottleneck": 4,
                                        "out_dim": 6} | arch)))
    config.pop("init_seed")
    return build_network(config, (5,), seed)


def _params(net):
    return dict(net.named_parameters())


def test_seeded_init_is_reproducible_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a, b, c = _net(0), _net(0), _net(1)
    assert torch.equal(torch.get_rng_state(), before)
    assert all(torch.equal(p, _params(b)[n]) for n, p in _params(a).items())
    assert not torch.equal(_params(a)["head.last.weight"], _params(c)["head.last.weight"])


def test_head_init_trunc_normal_std_002_zero_bias():
    net = _net(hidden=(64,), head_hidden=(256,), bottleneck=64, out_dim=512)
    weight = net.head.last.weight
    # DINO's trunc_normal_(std=.02) cuts at ±2 in absolute units (100σ): effectively N(0, 0.02²)
    assert weight.abs().max() <= 2.0
    assert weight.std().item() == pytest.approx(0.02, rel=0.03)
    assert weight.mean().abs().item() < 0.02 * 4 / math.sqrt(weight.numel())
    assert torch.count_nonzero(net.head.bottleneck.bias) == 0


def test_interpolated_alpha_zero_is_the_teacher_bit_exactly():
    teacher, fresh = _net(0), _net(1)
    s = init_student(teacher, fresh, "interpolated", alpha=0.0)
    for name, p in _params(teacher).items():
        assert torch.equal(_params(s)[name], p), name


def test_interpolated_alpha_half_var_preserving():
    teacher, fresh = _net(0), _net(1)
    # perturb the running stats: buffers must come from the teacher, untouched
    teacher.encoder.net[1].running_mean.fill_(0.3)
    s = init_student(teacher, fresh, "interpolated", alpha=0.5, var_preserving=True)
    scale = 1 / math.sqrt(2 * 0.25 - 2 * 0.5 + 1)                  # 1/√0.5 = √2
    for name, p in _params(teacher).items():
        expected = (0.5 * p + 0.5 * _params(fresh)[name]) * math.sqrt(2.0)
        torch.testing.assert_close(_params(s)[name], expected, rtol=1e-6, atol=1e-7)
    assert scale == pytest.approx(math.sqrt(2.0))
    bn = s.encoder.net[1]
    torch.testing.assert_close(bn.weight, torch.full_like(bn.weight, math.sqrt(2.0)))   # γ: 1 -> √2
    assert torch.count_nonzero(bn.bias) == 0                                              # β: 0 stays 0
    assert torch.all(bn.running_mean == 0.3) and torch.all(bn.running_var == 1.0)


def test_interpolated_alpha_half_plain_average_and_alpha_one_is_fresh():
    teacher, fresh = _net(0), _net(1)
    s = init_student(teacher, fresh, "interpolated", alpha=0.5, var_preserving=False)
    for name, p in _params(teacher).items():
        torch.testing.assert_close(_params(s)[name], (p + _params(fresh)[name]) / 2)
    s1 = init_student(teacher, fresh, "interpolated", alpha=1.0)
    for name, p in _params(fresh).items():
        assert torch.equal(_params(s1)[name], p), name


def test_neighborhood_and_random():
    teacher, fresh = _net(0), _net(1)
    s = init_student(teacher, fresh, "neighborhood", eps=0.75)
    for name, p in _params(teacher).items():   # (θ_T + 0.75 θ̃) / √(1 + 0.5625) = (θ_T + 0.75 θ̃) / 1.25
        torch.testing.assert_close(_params(s)[name], (p + 0.75 * _params(fresh)[name]) / 1.25)
    r = init_student(teacher, fresh, "random")
    assert all(torch.equal(p, _params(fresh)[n]) for n, p in _params(r).items())


def test_bottleneck_is_unit_norm_and_last_layer_weight_normalised():
    """Spec test 6, and head_wn: every output is a cosine in [-1, 1]."""
    net = _net(0).eval()
    x = torch.randn(10, 5) * 100
    z = net.head.bottleneck_features(net.embed(x))
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(10))
    rows = net.head.last.weight / net.head.last.weight.norm(dim=1, keepdim=True)
    torch.testing.assert_close(net(x), z @ rows.T)
    raw = _net(0, head_wn=False).eval()                        # official code: raw W₂
    torch.testing.assert_close(raw(x), z @ net.head.last.weight.T)


def test_student_component_needs_teacher_input_and_matching_shape():
    ctx = BuildContext(data=DataInfo(input_shape=(5,)), artifacts={}, seed=0)
    with pytest.raises(UserError, match="needs the teacher as an input"):
        student(StudentConfig(), ctx)
    ctx = BuildContext(data=DataInfo(input_shape=(7,)), artifacts={"teacher": _net(0)}, seed=0)
    with pytest.raises(UserError, match="input shape"):
        student(StudentConfig(), ctx)


def test_student_component_trainable_copy_of_frozen_teacher():
    teacher = _net(0).eval().requires_grad_(False)
    s = student(StudentConfig(), BuildContext(data=DataInfo(input_shape=(5,)),
                                              artifacts={"teacher": teacher}, seed=0))
    assert s.training and all(p.requires_grad for p in s.parameters())
    assert all(torch.equal(p, _params(teacher)[n]) for n, p in _params(s).items())


@pytest.mark.parametrize("spec, table, message", [
    ("model", {"name": "random_teachers.student", "alpha": 1.5}, "alpha: must be <= 1, found 1.5"),
    ("model", {"name": "random_teachers.student", "s_init": "nearby"}, "s_init: must be one of"),
    ("model", {"name": "random_teachers.dino_net", "out_dim": 0}, "out_dim: must be > 0"),
    ("loss", {"name": "random_teachers.distill_ce", "t_cmom": 1.5}, "t_cmom: must be <= 1"),
    ("loss", {"name": "random_teachers.distill_ce", "t_temp": 0}, "t_temp: must be > 0"),
])
def test_config_ranges_name_the_field(spec, table, message):
    from latentzoo.config import LossSpec, ModelSpec, structure
    from latentzoo.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        structure(table, {"model": ModelSpec, "loss": LossSpec}[spec], "stages[1].model")
