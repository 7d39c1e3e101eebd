"""The stage-1 VAE: KL and the sum-reduced loss, by hand; the GMM prior; the data split."""

import math

import pytest
import torch
from latentzoo.errors import UserError
from latentzoo_diffusevae.data import DigitsConfig, digits
from latentzoo_diffusevae.vae import VAE, GaussianMixturePrior, VAELoss, VAELossConfig, gaussian_kl
from torch import nn


def test_kl_is_zero_at_the_prior_and_matches_a_hand_value():
    assert gaussian_kl(torch.zeros(3, 8), torch.zeros(3, 8)).item() == 0.0
    # μ = (1, 2), log σ² = (0, ln 4): −½[(1 + 0 − 1 − 1) + (1 + ln 4 − 4 − 4)] = 4 − ½·ln 4
    mu = torch.tensor([[1.0, 2.0]])
    logvar = torch.tensor([[0.0, math.log(4.0)]])
    assert gaussian_kl(mu, logvar).item() == pytest.approx(4.0 - 0.5 * math.log(4.0), rel=1e-6)
    # summed over the batch, not averaged: two copies cost twice as much
    assert gaussian_kl(mu.repeat(2, 1), logvar.repeat(2, 1)).item() == pytest.approx(8.0 - math.log(4.0), rel=1e-6)


class _Stub(nn.Module):
    """encode → (μ = 1, log σ² = 0), z = μ, decode → 0.5 everywhere."""

    def encode(self, x):
        return torch.ones(len(x), 2), torch.zeros(len(x), 2)

    @staticmethod
    def reparameterize(mu, logvar):
        return mu

    def decode(self, z):
        return torch.full((len(z), 64), 0.5)


@pytest.mark.parametrize("alpha", [1.0, 0.1])
def test_vae_loss_is_sum_reduced(alpha):
    x = torch.zeros(2, 64)
    out = VAELoss(VAELossConfig(alpha=alpha))(_Stub(), {"x": x})
    # Σ over 2 × 64 pixels of 0.5² = 32 (mean reduction would give 0.25)
    assert out["reconstruction"].item() == pytest.approx(32.0)
    # KL per example with μ = (1, 1), σ = 1: ½·Σμ² = 1; two examples: 2
    assert out["kl"].item() == pytest.approx(2.0)
    assert out["loss"].item() == pytest.approx(32.0 + alpha * 2.0)


def test_vae_shapes_and_range():
    vae = VAE((1, 8, 8), latent_dim=4, hidden=16)
    x = torch.rand(5, 1, 8, 8)
    mu, logvar = vae.encode(x)
    assert mu.shape == logvar.shape == (5, 4)
    out = vae.decode(torch.randn(5, 4) * 10)
    assert out.shape == (5, 1, 8, 8) and out.min() >= 0 and out.max() <= 1
    assert torch.equal(vae.embed(x), mu)


def test_vae_loss_rejects_a_model_without_encode():
    with pytest.raises(UserError, match="encode"):
        VAELoss(VAELossConfig())(nn.Linear(64, 64), {"x": torch.zeros(2, 64)})


def test_gmm_prior_samples_near_its_components():
    vae = VAE((64,), latent_dim=2, hidden=8)
    x = torch.rand(60, 64)
    prior = GaussianMixturePrior(vae, x, components=2, seed=0)
    z = prior.sample(400, torch.Generator().manual_seed(0))
    assert z.shape == (400, 2) and z.dtype == torch.float32
    with torch.no_grad():
        means = vae.encode(x)[0]
    # the mixture's mean is the encoder means' mean (EM preserves the first moment)
    torch.testing.assert_close(z.mean(0), means.mean(0), atol=0.05 + 3 * means.std(0).max().item() / 20, rtol=0)
    with pytest.raises(UserError, match="components"):
        GaussianMixturePrior(vae, x[:3], components=5)


def test_digits_split_is_1500_297_stratified_in_unit_range():
    data = digits(DigitsConfig(), None)
    train, test = data.split("train"), data.split("test")
    assert len(train["x"]) == 1500 and len(test["x"]) == 297
    assert train["x"].min() >= 0 and train["x"].max() == 1.0
    counts = torch.bincount(test["y"], minlength=10)
    assert counts.min() >= 28 and counts.max() <= 31  # 297 of 1797, per class ≈ 16.5%
    assert digits(DigitsConfig(image=True), None).split("test")["x"].shape[1:] == (1, 8, 8)
