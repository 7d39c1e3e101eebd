"""DDIM / DDPM updates pinned by hand, and the samplers on an exactly known denoiser."""

import pytest
import torch
from latentzoo.build import BuildContext
from latentzoo.data import DataInfo
from latentzoo.errors import UserError
from latentzoo_diffusion.losses import DDPMEpsilonLoss, DDPMLossConfig, noise_sample
from latentzoo_diffusion.metrics import CallCounter
from latentzoo_diffusion.samplers import (
    DDIMConfig,
    DDIMSampler,
    DDPMConfig,
    DDPMSampler,
    ddim_step,
    ddpm_step,
)
from torch import nn

X, EPS, AB, AB_PREV = torch.tensor([1.0]), torch.tensor([0.5]), 0.25, 0.64


def test_ddim_step_deterministic():
    # x̂0 = (1 − √0.75·0.5)/√0.25 = 1.1339746; x' = √0.64·x̂0 + √0.36·0.5 = 0.9071797 + 0.3
    assert ddim_step(X, EPS, AB, AB_PREV).item() == pytest.approx(1.2071797, abs=1e-6)


def test_ddim_step_eta_one():
    # σ = √(0.36/0.75)·√(1 − 0.25/0.64) = 0.6928203·0.7806247 = 0.5408327
    # x' = 0.9071797 + √(0.36 − 0.2925)·0.5 + σ·1 = 0.9071797 + 0.1299038 + 0.5408327
    out = ddim_step(X, EPS, AB, AB_PREV, eta=1.0, noise=torch.tensor([1.0]))
    assert out.item() == pytest.approx(1.5779162, abs=1e-6)


def test_ddim_last_step_returns_x0():
    assert ddim_step(X, EPS, AB, 1.0).item() == pytest.approx(1.1339746, abs=1e-6)


def test_ddpm_step_by_hand():
    # β' = 1 − 0.25/0.64 = 0.609375; mean = (1 − 0.609375/√0.75·0.5)/√0.390625 = 0.6481772/0.625
    assert ddpm_step(X, EPS, AB, AB_PREV).item() == pytest.approx(1.0370835, abs=1e-6)
    # posterior variance β'(1 − ᾱ')/(1 − ᾱ) = 0.2925, std 0.5408327: equal to DDIM with η = 1
    out = ddpm_step(X, EPS, AB, AB_PREV, noise=torch.tensor([1.0]))
    assert out.item() == pytest.approx(1.5779162, abs=1e-6)
    beta = ddpm_step(X, EPS, AB, AB_PREV, noise=torch.tensor([1.0]), variance="beta")
    assert beta.item() == pytest.approx(1.0370835 + 0.609375 ** 0.5, abs=1e-6)


class PointMassDenoiser(nn.Module):
    """The exact ε-predictor for data concentrated at c: ε = (x_t − √ᾱ_t c)/√(1 − ᾱ_t)."""

    def __init__(self, alpha_bar, c):
        super().__init__()
        self.register_buffer("alpha_bar", alpha_bar.float())
        self.c = c
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x, t):
        ab = self.alpha_bar[t.long()].reshape(-1, 1)
        return (x - ab.sqrt() * self.c) / (1 - ab).sqrt()


def _ctx(shape=(2,)):
    return BuildContext(data=DataInfo(input_shape=shape))


@pytest.mark.parametrize("sampler", ["ddim", "ddpm"])
def test_samplers_recover_point_mass(sampler):
    c = torch.tensor([0.3, -1.2])
    if sampler == "ddim":
        s = DDIMSampler(DDIMConfig(steps=10, timesteps=100), _ctx())
    else:
        s = DDPMSampler(DDPMConfig(steps=25, timesteps=100), _ctx())
    model = PointMassDenoiser(s.alpha_bar, c)
    out = s.sample(model, 16)
    assert out.shape == (16, 2)
    assert torch.allclose(out, c.expand(16, 2), atol=1e-4)


def test_sampler_counts_network_evaluations_and_registers_itself():
    ctx = _ctx()
    s = DDIMSampler(DDIMConfig(steps=7, timesteps=50), ctx)
    assert ctx.artifacts["sampler"] is s
    counter = CallCounter(PointMassDenoiser(s.alpha_bar, torch.zeros(2)))
    s.sample(counter, 3)
    assert counter.examples == 3 * 7


def test_sampler_errors_name_the_problem():
    with pytest.raises(UserError, match="steps = 20 exceeds timesteps = 10"):
        DDIMSampler(DDIMConfig(steps=20, timesteps=10), _ctx())
    with pytest.raises(UserError, match="decode_with"):
        DDIMSampler(DDIMConfig(steps=2, timesteps=10, shape=(2,), decode_with="vae"), _ctx())


def test_noise_sample_and_loss_by_hand():
    # √0.36·2 + √0.64·1 = 1.2 + 0.8
    assert noise_sample(torch.tensor([[2.0]]), torch.tensor([[1.0]]), torch.tensor([0.36])).item() == pytest.approx(2.0)

    class Zero(nn.Module):
        def forward(self, x, t):
            return torch.zeros_like(x)

    loss = DDPMEpsilonLoss(DDPMLossConfig(timesteps=10), None)
    batch = {"x": torch.randn(4, 3), "noise": torch.full((4, 3), 2.0)}
    assert loss(Zero(), batch)["loss"].item() == pytest.approx(4.0)  # mean(2²)
