"""The generator chain, the latent attack and pixel PGD, pinned by hand-computed values."""

import math

import pytest
import torch
from torch import nn

from latentzoo_omat.attack import (Generator, GeneratorConfig, ddim_generate, latent_attack,
                                   pixel_pgd, project_to_sphere, quantise)
from latentzoo_diffusion.samplers import ddim_step


class Linear(nn.Module):
    """D(x) = w·x + b (one logit per sample)."""

    def __init__(self, w, b=0.0):
        super().__init__()
        self.w = nn.Parameter(torch.as_tensor(w, dtype=torch.float32))
        self.b = b

    def forward(self, x):
        return x.flatten(1) @ self.w + self.b


class Constant(nn.Module):
    def __init__(self, value):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(1))
        self.value = value

    def forward(self, x):
        return torch.full((len(x),), self.value) + 0 * self.p + 0 * x.flatten(1).sum(1)


class ConstantEps(nn.Module):
    def __init__(self, value):
        super().__init__()
        self.value = value
        self.p = nn.Parameter(torch.zeros(1))

    def forward(self, x, t):
        return torch.full_like(x, self.value)


def test_ddim_step_recovers_x0_with_exact_noise():
    # spec test 1: x_t = √ᾱ x0 + √(1−ᾱ) ε; one DDIM jump to ᾱ' = 1 with ε̂ = ε returns x0
    x0, eps, ab = torch.tensor([0.6, -0.3]), torch.tensor([0.4, 1.5]), 0.25
    x_t = math.sqrt(ab) * x0 + math.sqrt(1 - ab) * eps
    assert torch.allclose(ddim_step(x_t, eps, ab, 1.0), x0, atol=1e-6)
    # by hand, to ᾱ' = 0.64: x' = 0.8·0.6 + 0.6·0.4 = 0.72 (first coordinate)
    assert ddim_step(x_t, eps, ab, 0.64)[0].item() == pytest.approx(0.72, abs=1e-6)


def test_ddim_generate_two_steps_by_hand():
    # ᾱ = [0.9, 0.5, 0.25], steps at t = 2 then t = 0, ε̂ ≡ 1:
    # step 1: x̂0 = (x − √0.75)/0.5, x' = √0.9 x̂0 + √0.1; step 2: x̂0 = (x' − √0.1)/√0.9 = first x̂0,
    # x'' = √1·x̂0 = 2x − √3.
    alpha_bar = torch.tensor([0.9, 0.5, 0.25], dtype=torch.float64)
    z = torch.tensor([[1.0, 0.0]])
    out = ddim_generate(ConstantEps(1.0), z, alpha_bar, torch.tensor([0, 2]), clip=None)
    assert torch.allclose(out, torch.tensor([[2 - math.sqrt(3), -math.sqrt(3)]]), atol=1e-6)


def test_quantise_to_the_17_levels():
    x = torch.tensor([0.07, 2.0, -0.0624, -1.3, 0.5])
    # (0.07+1)·8 = 8.56 → 9 → 0.125; 2 → clip 1; −0.0624 → 7.5008 → 8 → 0; −1.3 → −1; 0.5 stays
    assert torch.equal(quantise(x), torch.tensor([0.125, 1.0, 0.0, -1.0, 0.5]))


def _tiny_generator(seed=0):
    from latentzoo_diffusion.models import ResidualDenoiser

    torch.manual_seed(seed)
    model = ResidualDenoiser(64, 16, 1, 2, 8, "layernorm", 0.0)
    return Generator(model, GeneratorConfig(timesteps=20, sampling_steps=4))


def test_generator_is_deterministic_and_differentiable():
    # spec test 2: η = 0 → bit-identical; ∂ℓ/∂z finite and non-zero for a non-constant detector
    generate = _tiny_generator()
    z = torch.randn(3, 64, generator=torch.Generator().manual_seed(1))
    assert torch.equal(generate(z), generate(z))
    z.requires_grad_(True)
    detector = Linear(torch.linspace(-1, 1, 64))
    (grad,) = torch.autograd.grad(detector(generate(z)).sum(), z)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert all(p.grad is None for p in generate.model.parameters())


def test_constant_detector_gives_zero_gradient_and_no_success():
    # spec test 3a: D ≡ +2 (p_fake = σ(2) > 0.5): the gradient is 0, z never moves, ASR = 0
    z0 = project_to_sphere(torch.randn(5, 4, generator=torch.Generator().manual_seed(0)))
    result = latent_attack(lambda z: z, Constant(2.0), z0, lr=0.05, max_steps=3)
    assert torch.allclose(result.z, z0, atol=1e-6)
    assert result.success.float().mean().item() == 0.0


def test_first_step_moves_z_against_w_then_projects():
    # spec test 3b + 4: G = identity, D(x) = w·x, z0 = [1,1,1,1] (‖z0‖ = √4), w = [1,−1,1,−1]:
    # p = σ(0) = 0.5 ≥ 0.5 → attacked; Adam's first step is −lr·sign(g) = −0.05·sign(w)
    # → [0.95, 1.05, 0.95, 1.05], norm √(4 + 4·0.05²) = √4.01, re-projected to norm 2.
    z0 = torch.ones(1, 4)
    w = torch.tensor([1.0, -1.0, 1.0, -1.0])
    result = latent_attack(lambda z: z, Linear(w), z0, lr=0.05, max_steps=1)
    expected = torch.tensor([[0.95, 1.05, 0.95, 1.05]]) * (2 / math.sqrt(4.01))
    assert torch.allclose(result.z, expected, atol=1e-6)
    assert ((result.z - z0) @ w).item() < 0  # towards "real"
    assert result.steps.tolist() == [1]


def test_norm_is_sqrt_d_after_every_step():
    # spec test 4: a detector that stays "fake" (large bias) keeps every sample active for 5 steps
    z0 = torch.randn(4, 64, generator=torch.Generator().manual_seed(3))
    detector = Linear(torch.linspace(-1, 1, 64), b=100.0)
    for steps in (1, 2, 5):
        result = latent_attack(lambda z: z, detector, z0, max_steps=steps)
        assert torch.allclose(result.z.norm(dim=1), torch.full((4,), 8.0), atol=1e-5)
        assert result.steps.tolist() == [steps] * 4


def test_early_stop_freezes_successful_samples():
    # w = [1,1,1,−1]; sample 0 starts "real" (w·z0 = −2 → p < 0.5): never moved; sample 1 starts
    # "fake" (w·z0 = 2) and is moved (a w ∝ z0 would be undone by the radial projection)
    w = torch.tensor([1.0, 1.0, 1.0, -1.0])
    z0 = torch.tensor([[-1.0, -1.0, -1.0, -1.0], [1.0, 1.0, 1.0, 1.0]])
    result = latent_attack(lambda z: z, Linear(w), z0, lr=0.5, max_steps=30)
    assert torch.equal(result.z[0], z0[0]) and result.steps[0].item() == 0
    assert result.success.tolist() == [True, True] and result.steps[1].item() > 0


def test_pixel_pgd_by_hand():
    # D(x) = w·x, x0 = 0: each step x ← x − α·sign(w), α = ε/4 = 0.03125; after 10 steps the
    # L∞ projection stops it at −ε·sign(w) = ∓0.125
    w = torch.tensor([2.0, -0.5, 1.0, -3.0])
    x = pixel_pgd(Linear(w), torch.zeros(1, 4), epsilon=0.125, steps=10)
    assert torch.allclose(x, torch.tensor([[-0.125, 0.125, -0.125, 0.125]]))
    # two steps only: 2α = 0.0625
    x = pixel_pgd(Linear(w), torch.zeros(1, 4), epsilon=0.125, steps=2)
    assert torch.allclose(x, torch.tensor([[-0.0625, 0.0625, -0.0625, 0.0625]]))
    # and the [−1, 1] box: from x0 = 0.95 upward (w < 0) it stops at 1
    x = pixel_pgd(Linear(torch.tensor([-1.0])), torch.tensor([[0.95]]), epsilon=0.125, steps=10)
    assert x.item() == pytest.approx(1.0)
