"""Schedule values computed by hand (numbers in comments), never by the code under test."""

import math

import pytest
import torch
from latentzoo_diffusion.schedules import (
    alphas_cumprod,
    consistency_preconditioning,
    cosine_betas,
    edm_preconditioning,
    karras_sigmas,
    linear_betas,
    make_betas,
    respaced_timesteps,
)


def test_linear_betas_ho_et_al():
    betas = linear_betas(1000)
    assert betas[0].item() == pytest.approx(1e-4, abs=1e-15)
    assert betas[-1].item() == pytest.approx(0.02, abs=1e-15)
    # β_1 = 1e-4 + (0.02 − 1e-4)/999 = 1.1991991992e-4
    assert betas[1].item() == pytest.approx(1.1991991992e-4, rel=1e-9)


def test_linear_betas_rescaled_for_short_chains():
    betas = make_betas("linear", 250)  # 1000/250 = 4: 4e-4 .. 0.08
    assert betas[0].item() == pytest.approx(4e-4)
    assert betas[-1].item() == pytest.approx(0.08)


def test_alphas_cumprod_by_hand():
    # (1 − 0.1) = 0.9; 0.9·0.8 = 0.72; 0.72·0.5 = 0.36
    assert torch.allclose(alphas_cumprod(torch.tensor([0.1, 0.2, 0.5])),
                          torch.tensor([0.9, 0.72, 0.36], dtype=torch.float64))


def test_cosine_betas_two_steps():
    # T = 2, s = 0.008: ᾱ(1/2) = cos²(0.508/1.008·π/2)/cos²(0.008/1.008·π/2)
    #   cos²(0.791631) = 0.493767; cos²(0.012467) = 0.999845  ->  β_0 = 1 − 0.493843 = 0.506156
    # ᾱ(1) = cos²(π/2) ≈ 0 -> β_1 = 1 − 0/ᾱ(1/2) clipped to 0.999
    betas = cosine_betas(2)
    assert betas[0].item() == pytest.approx(0.506156, abs=2e-6)
    assert betas[1].item() == pytest.approx(0.999)


def test_cosine_betas_start_small_and_increase():
    betas = cosine_betas(1000)
    assert betas[0].item() < 1e-4 and bool((betas[1:] >= betas[:-1]).all())


def test_respaced_timesteps():
    # linspace(0, 999, 5) = 0, 249.75, 499.5, 749.25, 999 -> rounded (half to even)
    assert respaced_timesteps(1000, 5).tolist() == [0, 250, 500, 749, 999]
    assert respaced_timesteps(10, 10).tolist() == list(range(10))
    with pytest.raises(ValueError):
        respaced_timesteps(10, 11)


def test_karras_sigmas_three_points():
    sigmas = karras_sigmas(3, 0.002, 80.0, 7.0)
    # 80^(1/7) = 1.870122, 0.002^(1/7) = 0.411560; mid = ((1.870122 + 0.411560)/2)^7 = 1.140841^7 = 2.515219
    assert sigmas[0].item() == pytest.approx(80.0)
    assert sigmas[1].item() == pytest.approx(2.515219, abs=2e-6)
    assert sigmas[2].item() == pytest.approx(0.002)


def test_edm_preconditioning_at_sigma_data():
    c_skip, c_out, c_in, c_noise = edm_preconditioning(torch.tensor(0.5), 0.5)
    # σ = σ_d = 0.5: c_skip = 0.25/0.5, c_out = 0.25/√0.5, c_in = 1/√0.5, c_noise = ln(0.5)/4
    assert c_skip.item() == pytest.approx(0.5)
    assert c_out.item() == pytest.approx(0.353553, abs=1e-6)
    assert c_in.item() == pytest.approx(1.414214, abs=1e-6)
    assert c_noise.item() == pytest.approx(-0.173287, abs=1e-6)


def test_consistency_preconditioning_boundary_and_value():
    c_skip, c_out, c_in = consistency_preconditioning(torch.tensor(0.002), 0.5, 0.002)
    assert c_skip.item() == 1.0 and c_out.item() == 0.0
    assert c_in.item() == pytest.approx(1 / math.sqrt(0.002 ** 2 + 0.25))
    # σ = 0.502: c_skip = 0.25/(0.5² + 0.25) = 0.5; c_out = 0.5·0.5/√(0.502² + 0.25) = 0.25/0.708522
    c_skip, c_out, _ = consistency_preconditioning(torch.tensor(0.502, dtype=torch.float64), 0.5, 0.002)
    assert c_skip.item() == pytest.approx(0.5)
    assert c_out.item() == pytest.approx(0.352847, abs=1e-6)


def test_short_linear_chain_is_clipped_below_one():
    betas = make_betas("linear", 20)  # 1000/20 = 50: 5e-3 .. 1.0 -> last clipped to 0.999
    assert betas[0].item() == pytest.approx(5e-3)
    assert betas[-1].item() == pytest.approx(0.999)
    assert alphas_cumprod(betas)[-1].item() > 0
