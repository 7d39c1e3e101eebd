"""Schedule, spacing and the Form 1 / Form 2 steps, pinned by hand-computed values."""

import math

import pytest
import torch
from latentzoo_diffusevae.diffusion import SpacedChain, forward_noise, predict_x0, space_timesteps

B0, B_END, T = 1e-4, 0.02, 1000


def beta(t: int) -> float:  # linear β of DDPM, written out independently of the code under test
    return B0 + (B_END - B0) * t / (T - 1)


def alpha_bar(t: int) -> float:
    return math.prod(1 - beta(s) for s in range(t + 1))


def test_alpha_bar_at_T_matches_the_spec():
    chain = SpacedChain(range(T))
    # spec: ᾱ_T = 4.036e-5, √ᾱ_T = 6.35e-3 (log ᾱ_T ≈ −Σβ − Σβ²/2 = −10.05 − 0.067)
    assert float(chain.alpha_bar[-1]) == pytest.approx(4.036e-5, rel=1e-3)
    assert math.sqrt(float(chain.alpha_bar[-1])) == pytest.approx(6.35e-3, rel=1e-3)


def test_uniform_and_quad_spacing():
    assert space_timesteps(1000, 10, "uniform") == list(range(0, 1000, 100))
    assert space_timesteps(1000, 10, "quad") == [0, 9, 39, 88, 158, 246, 355, 483, 632, 800]
    # quad repeats small values for large n; the chain keeps each once: 96 steps for n = 100
    assert len(SpacedChain(space_timesteps(1000, 100, "quad"))) == 96
    # 1000/300 = 3.33 and 1000/299 = 3.34: no integer stride gives exactly 300 steps
    with pytest.raises(ValueError, match="integer stride"):
        space_timesteps(1000, 300, "uniform")


def test_spaced_coefficients_by_hand():
    chain = SpacedChain([0, 1, 500])
    b0, b1 = beta(0), beta(1)
    a0, a1, a500 = 1 - b0, (1 - b0) * (1 - b1), alpha_bar(500)
    assert chain.timesteps.tolist() == [0, 1, 500]
    assert chain.alpha_bar.tolist() == pytest.approx([a0, a1, a500], rel=1e-10)
    # respaced β'_k = 1 − ᾱ_τk/ᾱ_τk−1
    assert chain.betas.tolist() == pytest.approx([b0, b1, 1 - a500 / a1], rel=1e-9)
    # posterior mean coefficients at k = 1: c1 = β'√ᾱ'/(1 − ᾱ), c2 = √(1 − β')(1 − ᾱ')/(1 − ᾱ)
    assert float(chain.coef_x0[1]) == pytest.approx(b1 * math.sqrt(a0) / (1 - a1), rel=1e-9)
    assert float(chain.coef_xt[1]) == pytest.approx(math.sqrt(1 - b1) * (1 - a0) / (1 - a1), rel=1e-9)
    # at k = 0 (ᾱ' = 1): c1 = 1, c2 = 0, the mean is x̃_0
    assert float(chain.coef_x0[0]) == pytest.approx(1.0) and float(chain.coef_xt[0]) == 0.0
    # fixedlarge: β' everywhere except k = 0, which takes the posterior variance at index 1
    post1 = b1 * (1 - a0) / (1 - a1)
    assert float(chain.variance_large[0]) == pytest.approx(post1, rel=1e-9)
    assert float(chain.variance_large[2]) == pytest.approx(1 - a500 / a1, rel=1e-9)
    assert float(chain.posterior_variance[2]) == pytest.approx((1 - a500 / a1) * (1 - a1) / (1 - a500), rel=1e-9)


def test_form2_forward_is_form1_shifted_by_x_hat():
    g = torch.Generator().manual_seed(0)
    x0, eps, x_hat = (torch.rand(4, 64, generator=g, dtype=torch.float64) * 2 - 1 for _ in range(3))
    a = torch.tensor([0.9, 0.5, 0.1, 4e-5], dtype=torch.float64)
    s_t = forward_noise(x0, eps, a, "form2", x_hat)
    x_t = forward_noise(x0, eps, a, "form1")
    torch.testing.assert_close(s_t - x_hat, x_t, rtol=0, atol=1e-15)
    # Form 1 by hand for the first example: √0.9·x0 + √0.1·ε
    torch.testing.assert_close(x_t[0], math.sqrt(0.9) * x0[0] + math.sqrt(0.1) * eps[0])


@pytest.mark.parametrize("t", [0, 1, 500, 999])
def test_oracle_epsilon_recovers_x0(t):
    g = torch.Generator().manual_seed(t)
    x0 = torch.rand(3, 64, generator=g, dtype=torch.float64) * 2 - 1
    eps = torch.randn(3, 64, generator=g, dtype=torch.float64)
    x_hat = torch.rand(3, 64, generator=g, dtype=torch.float64) * 2 - 1
    chain = SpacedChain([t] if t == 0 else [0, t])
    k = len(chain) - 1
    a = chain.alpha_bar[k].expand(3)
    for form in ("form1", "form2"):
        y = forward_noise(x0, eps, a, form, x_hat)
        if form == "form2":
            y = y - x_hat  # x̃_0 = (s_t − x̂)/√ᾱ − √(1/ᾱ − 1)·ε
        torch.testing.assert_close(predict_x0(y, eps, chain.alpha_bar[k]), x0, rtol=0, atol=1e-9)
        # one DDIM step to t = 0 (ᾱ' = 1 after the last index) returns x_0
        y0 = chain.ddim_step(y, eps, k)
        if k == 1:
            y0 = chain.ddim_step(y0, eps, 0)
        torch.testing.assert_close(y0, x0, rtol=0, atol=1e-9)


def test_x0_is_clipped_not_x_t():
    chain = SpacedChain([0, 999])
    y = torch.full((1, 4), 3.0, dtype=torch.float64)
    eps = torch.zeros_like(y)
    assert chain.x0(y, eps, 1).max().item() == 1.0
    assert chain.x0(y, eps, 1, clip=False).min().item() == pytest.approx(3.0 / math.sqrt(alpha_bar(999)))
    # the DDPM step mean uses the clipped x̃_0 and the unclipped y
    mean = chain.ddpm_step(y, eps, 1, noise=None)
    expected = float(chain.coef_x0[1]) * 1.0 + float(chain.coef_xt[1]) * 3.0
    assert mean[0, 0].item() == pytest.approx(expected, rel=1e-12)


def test_ddpm_step_noise_scale_fixedlarge_and_fixedsmall():
    chain = SpacedChain([0, 1, 500])
    y = torch.zeros(1, 2, dtype=torch.float64)
    eps = torch.zeros_like(y)
    noise = torch.ones_like(y)
    large = chain.ddpm_step(y, eps, 2, noise, "fixedlarge") - chain.ddpm_step(y, eps, 2, None)
    small = chain.ddpm_step(y, eps, 2, noise, "fixedsmall") - chain.ddpm_step(y, eps, 2, None)
    b = 1 - alpha_bar(500) / alpha_bar(1)
    assert large[0, 0].item() == pytest.approx(math.sqrt(b), rel=1e-9)
    assert small[0, 0].item() == pytest.approx(math.sqrt(b * (1 - alpha_bar(1)) / (1 - alpha_bar(500))), rel=1e-9)
    # no noise at the last step (k = 0)
    assert torch.equal(chain.ddpm_step(y, eps, 0, noise), chain.ddpm_step(y, eps, 0, None))


def test_form2_ddim_equals_official_coefficient_form():
    """``spaced_diff_form2.get_ddim_mean_cov``: √ᾱ'x̃0 + √(1−ᾱ')(ε + x̂/√(1−ᾱ)) + (1 − √(1−ᾱ')/√(1−ᾱ))x̂."""
    g = torch.Generator().manual_seed(1)
    s, eps, x_hat = (torch.randn(2, 8, generator=g, dtype=torch.float64) for _ in range(3))
    chain = SpacedChain([0, 250, 700])
    k = 2
    a, ap = float(chain.alpha_bar[k]), float(chain.alpha_bar_prev[k])
    x0 = ((s - x_hat) / math.sqrt(a) - math.sqrt(1 / a - 1) * eps).clamp(-1, 1)
    official = (math.sqrt(ap) * x0 + math.sqrt(1 - ap) * (eps + x_hat / math.sqrt(1 - a))
                + (1 - math.sqrt(1 - ap) / math.sqrt(1 - a)) * x_hat)
    ours = chain.ddim_step(s - x_hat, eps, k) + x_hat
    torch.testing.assert_close(ours, official, rtol=0, atol=1e-12)
