"""The time-free student, the samplers and the metrics, against hand-computed values."""

import math

import pytest
import torch
from latentzoo.build import BuildContext
from latentzoo.data import DataInfo, DataSplits
from latentzoo.errors import UserError
from latentzoo_diffusion.models import ResidualDenoiser
from torch import nn

from latentzoo_sign.metrics import (
    IdempotenceConfig,
    ProjectionConfig,
    corrupt,
    histogram_entropy,
    idempotence,
    projection,
)
from latentzoo_sign.models import IdempotentConfig, idempotent
from latentzoo_sign.samplers import MultistepConfig, MultistepSampler, RepeatConfig, RepeatSampler, renoise_levels


def _projector():
    """Orthogonal projector onto span(e1, e2) of R³ (spec test 5)."""
    P = nn.Linear(3, 3, bias=False)
    with torch.no_grad():
        P.weight.copy_(torch.diag(torch.tensor([1.0, 1.0, 0.0])))
    return P


def _ctx(shape=(3,), **artifacts):
    return BuildContext(data=DataInfo(input_shape=shape), artifacts=artifacts)


def test_teacher_init_is_the_teachers_x0_prediction_at_t_c():
    # T = 250, init_t = 0: t_c = 0, β_0 = 1e-4·1000/250 = 4e-4, ᾱ_0 = 0.9996;
    # f(x) = (x − √4e-4·ε_φ(x, 0))/√0.9996 = (x − 0.02·ε_φ(x, 0))/0.99980.
    teacher = ResidualDenoiser(3, 16, 1, 2, 8)
    f = idempotent(IdempotentConfig(init_t=0.0, timesteps=250), _ctx(teacher=teacher))
    x = torch.randn(5, 3)
    expected = (x - 0.02 * teacher(x, torch.zeros(5))) / math.sqrt(0.9996)
    assert torch.allclose(f(x), expected, atol=1e-5)
    assert f.net is not teacher and all(p.requires_grad for p in f.parameters())


def test_scratch_init_has_the_teachers_shape_and_residual_form():
    teacher = ResidualDenoiser(3, 16, 2, 2, 8)
    f = idempotent(IdempotentConfig(init="scratch"), _ctx(teacher=teacher))
    assert sum(p.numel() for p in f.parameters()) == sum(p.numel() for p in teacher.parameters())
    x = torch.randn(4, 3)
    assert torch.allclose(f(x), x - f.net(x, torch.zeros(4)))  # f(x) = x + g(x), g = −net


def test_student_needs_a_teacher():
    with pytest.raises(UserError, match="inputs"):
        idempotent(IdempotentConfig(), _ctx())
    with pytest.raises(UserError, match="mlp_denoiser"):
        idempotent(IdempotentConfig(), _ctx(teacher=nn.Linear(3, 3)))


def test_repeat_of_projector_equals_one_application():
    # Spec test 5: f idempotent ⇒ f^k(z) = f(z) for every k.
    P = _projector()
    torch.manual_seed(1)
    once = RepeatSampler(RepeatConfig(applications=1), _ctx()).sample(P, 16)
    for k in (2, 5):
        torch.manual_seed(1)
        assert torch.equal(RepeatSampler(RepeatConfig(applications=k), _ctx()).sample(P, 16), once)
    assert torch.equal(once[:, 2], torch.zeros(16))


def test_multistep_with_projector_follows_the_renoising_formula():
    # x1 = Pz; x2 = P(√ᾱ·x1 + √(1 − ᾱ)·ε) with ᾱ = ᾱ_{round(0.5·(T − 1))}.
    P = _projector()
    sampler = MultistepSampler(MultistepConfig(steps=2, levels=(0.5,), timesteps=100), _ctx())
    torch.manual_seed(0)
    out = sampler.sample(P, 4)
    torch.manual_seed(0)
    z, eps = torch.randn(4, 3), torch.randn(4, 3)
    from latentzoo_diffusion.schedules import alphas_cumprod, make_betas

    a = alphas_cumprod(make_betas("linear", 100))[50].float()
    expected = P(a.sqrt() * P(z) + (1 - a).sqrt() * eps)
    assert torch.allclose(out, expected, atol=1e-6)
    assert sampler.nfe == 2


def test_default_renoise_levels():
    assert renoise_levels(1, ()) == ()
    assert renoise_levels(2, ()) == (0.25,)
    assert renoise_levels(4, ()) == (0.375, 0.25, 0.125)
    with pytest.raises(UserError, match="3 re-noising levels"):
        renoise_levels(4, (0.5,))
    with pytest.raises(UserError, match="decrease"):
        renoise_levels(3, (0.2, 0.5))


def test_samplers_register_for_sampling_cost():
    ctx = _ctx()
    sampler = MultistepSampler(MultistepConfig(steps=4), ctx)
    assert ctx.artifacts["sampler"] is sampler and sampler.nfe == 4


def test_histogram_entropy():
    assert histogram_entropy(torch.arange(10).repeat(3), 10) == pytest.approx(math.log(10))
    assert histogram_entropy(torch.tensor([0, 0, 1, 1]), 10) == pytest.approx(math.log(2))
    assert histogram_entropy(torch.tensor([7, 7, 7]), 10) == 0.0


class _Evaluator:
    def __init__(self, model, x):
        self.model = model
        self.data = DataSplits({"train": {"x": x}, "test": {"x": x}}, DataInfo(input_shape=(3,)))

    def tensors(self, split=None):
        return self.data.split("test")


def test_idempotence_metric_of_projector_and_of_a_non_idempotent_map():
    # Data (±1, 0, 0): mean 0, scale √E‖x‖² = 1. P: both errors 0.
    x = torch.tensor([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])
    values = idempotence(IdempotenceConfig(num_samples=64), None)(_Evaluator(_projector(), x))
    assert values["idem_error"] == 0.0 and values["fixed_point_error_relative"] == 0.0
    # f(x) = 2x: ‖f(f(z)) − f(z)‖ = 2‖z‖ and ‖f(x) − x‖ = ‖x‖ = 1 on the data.
    double = nn.Linear(3, 3, bias=False)
    with torch.no_grad():
        double.weight.copy_(2 * torch.eye(3))
    values = idempotence(IdempotenceConfig(num_samples=64, seed=5), None)(_Evaluator(double, x))
    z = torch.randn(64, 3, generator=torch.Generator().manual_seed(5))
    assert values["idem_error"] == pytest.approx(2 * z.norm(dim=1).mean().item(), rel=1e-5)
    assert values["fixed_point_error_relative"] == pytest.approx(1.0)


def test_projection_metric_of_projector_removes_the_off_subspace_noise():
    # Data in span(e1, e2) of R³, x_c = x + σε: f(x_c) − x = Pε, so projected_mse = σ²·mean(ε1² + ε2²)/3
    # and corrupted_mse = σ²·mean(ε1² + ε2² + ε3²)/3.
    x = torch.tensor([[1.0, 2.0, 0.0], [-1.0, 0.5, 0.0]])
    values = projection(ProjectionConfig(strength=0.5, seed=2), None)(_Evaluator(_projector(), x))
    eps = torch.randn(2, 3, generator=torch.Generator().manual_seed(2))
    assert values["corrupted_mse"] == pytest.approx(0.25 * eps.pow(2).mean().item(), rel=1e-5)
    assert values["projected_mse"] == pytest.approx(0.25 * eps[:, :2].pow(2).sum().item() / 6, rel=1e-5)


def test_mask_corruption_zeroes_about_the_requested_fraction():
    masked = corrupt(torch.ones(100, 64), "mask", 0.25, torch.Generator().manual_seed(0))
    assert set(masked.unique().tolist()) == {0.0, 1.0}
    assert 0.23 < (masked == 0).float().mean().item() < 0.27
    with pytest.raises(UserError, match="fraction"):
        projection(ProjectionConfig(corruption="mask", strength=2.0), None)
