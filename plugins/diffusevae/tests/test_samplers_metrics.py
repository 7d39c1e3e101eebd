"""Samplers end to end with an oracle ε-network; guidance, cost, errors; the two metrics."""

import math
from types import SimpleNamespace

import pytest
import torch
from latentzoo.build import BuildContext
from latentzoo.errors import UserError
from latentzoo_diffusevae.metrics import (
    LabelAgreementConfig,
    label_agreement,
    nearest_neighbor_distance,
    pair_agreement,
)
from latentzoo_diffusevae.samplers import DDIMConfig, DDIMSampler, DDPMConfig, DDPMSampler
from latentzoo_diffusion.metrics import CallCounter
from torch import nn

ALPHA_BAR = [math.prod(1 - (1e-4 + (0.02 - 1e-4) * s / 999) for s in range(t + 1)) for t in range(1000)]


class Oracle(nn.Module):
    """ε-network that knows x_0: ε = (y − √ᾱ_t·x_0)/√(1 − ᾱ_t), y = x (Form 1) or x − x̂ (Form 2).

    With ``x0 = None`` it targets x_0 = x̂ (a refiner that returns its condition).
    """

    def __init__(self, form, x0=None):
        super().__init__()
        self.form, self.x0, self.input_shape, self.z_dim = form, x0, (64,), 0
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x, t, cond=None, z=None):
        a = torch.tensor([ALPHA_BAR[int(s)] for s in t], dtype=torch.float64).reshape(-1, 1)
        y = x.double() - (cond.double() if self.form == "form2" else 0.0)
        target = cond.double() if self.x0 is None else self.x0.double()
        return ((y - a.sqrt() * target) / (1 - a).sqrt()).float()


class ConstantVAE(nn.Module):
    latent_dim = 2

    def __init__(self):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(()))

    def encode(self, x):
        return torch.zeros(len(x), 2), torch.zeros(len(x), 2)

    def decode(self, z):  # x̂ = 2·Dec(z) − 1 depends on z
        return torch.sigmoid(z[:, :1]).expand(len(z), 64).clone()


def _ctx(model, vae=True):
    return BuildContext(artifacts={"model": model} | ({"vae": ConstantVAE()} if vae else {}))


@pytest.mark.parametrize("form", ["form1", "form2"])
@pytest.mark.parametrize("make", [lambda: DDIMSampler(DDIMConfig(steps=10), None),
                                  lambda: DDPMSampler(DDPMConfig(steps=25), None),
                                  lambda: DDIMSampler(DDIMConfig(steps=20, spacing="uniform"), None)])
def test_oracle_network_recovers_x0_through_the_whole_sampler(form, make):
    torch.manual_seed(0)
    x0 = torch.rand(6, 64) * 2 - 1
    x_hat = torch.rand(6, 64) * 2 - 1
    model = Oracle(form, x0)
    sampler = make()
    out = sampler.refine(model, x_hat, torch.zeros(6, 2), 6)
    # Form 2 must start at x̂ + ε and subtract x̂ after the last step to land on x_0
    torch.testing.assert_close(out, x0, atol=2e-4, rtol=0)


def test_sample_maps_to_unit_range_and_counts_network_evaluations():
    model = Oracle("form2")  # returns x̂ = 2·sigmoid(z₁) − 1
    sampler = DDIMSampler(DDIMConfig(steps=10), _ctx(model))
    counter = CallCounter(model)
    torch.manual_seed(0)
    out = sampler.sample(counter, 5)
    assert counter.examples == 5 * 10 and sampler.nfe == 10
    assert out.min() >= 0 and out.max() <= 1
    # each sample is flat at sigmoid(z₁) (Dec of the drawn z), mapped back from [−1, 1]
    torch.testing.assert_close(out, out[:, :1].expand(5, 64), atol=2e-4, rtol=0)


def test_classifier_free_guidance_combination_and_cost():
    class Echo(nn.Module):
        form, input_shape, z_dim = "form1", (64,), 0

        def forward(self, x, t, cond=None, z=None):
            return cond + 1.0

    sampler = DDIMSampler(DDIMConfig(steps=10, guidance=2.0), _ctx(Echo()))
    x_hat = torch.full((2, 64), 0.25)
    eps = sampler.epsilon(Echo(), torch.zeros(2, 64), torch.zeros(2), x_hat, None)
    # (1 + w)·ε(x, x̂) − w·ε(x, 0) = 3·1.25 − 2·1.0 = 1.75
    torch.testing.assert_close(eps, torch.full((2, 64), 1.75))
    assert sampler.nfe == 20


def test_missing_vae_and_bad_spacing_are_user_errors():
    with pytest.raises(UserError, match="inputs"):
        DDIMSampler(DDIMConfig(steps=10), _ctx(Oracle("form1"), vae=False))
    DDIMSampler(DDIMConfig(steps=10), _ctx(Oracle("none"), vae=False))  # the baseline needs none
    with pytest.raises(UserError, match="integer stride"):
        DDIMSampler(DDIMConfig(steps=300, spacing="uniform"), _ctx(Oracle("none"), vae=False))


def test_pair_agreement_by_hand():
    assert pair_agreement(torch.tensor([[1, 1], [1, 2]])) == 0.5
    # one latent, labels (1, 1, 2): of the 3 pairs only (1, 1) agrees
    assert pair_agreement(torch.tensor([[1, 1, 2]])) == pytest.approx(1 / 3)


def test_label_agreement_is_one_for_a_refiner_that_returns_its_condition():
    model = Oracle("form1")  # x_0 = x̂: the chain noise cannot change the sample
    sampler = DDIMSampler(DDIMConfig(steps=5), _ctx(model))
    evaluator = SimpleNamespace(artifacts={"sampler": sampler}, model=model)
    metric = label_agreement(LabelAgreementConfig(num_latents=16, repeats=3), None)
    assert metric(evaluator)["label_agreement"] == 1.0


def test_nearest_neighbor_distance_by_hand():
    a = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    b = torch.tensor([[0.0, 1.0], [6.0, 8.0], [3.0, 3.0]])
    torch.testing.assert_close(nearest_neighbor_distance(a, b), torch.tensor([1.0, 1.0], dtype=torch.float64))


def test_posterior_prior_draws_encoder_outputs_of_training_digits():
    from latentzoo_diffusevae.data import DigitsConfig, digits
    from latentzoo_diffusevae.samplers import LatentPrior
    from latentzoo_diffusevae.vae import VAE

    data = digits(DigitsConfig(), None)
    vae = VAE((64,), latent_dim=3, hidden=8)
    prior = LatentPrior("posterior", vae, BuildContext(splits=data), 2, "test")
    z = prior.sample(50, "cpu", torch.Generator().manual_seed(0))
    with torch.no_grad():
        mu, logvar = vae.encode(data.split("train")["x"])
    assert z.shape == (50, 3)
    # each draw lies within a few posterior standard deviations of some training mean
    gap = ((z[:, None] - mu[None]) / torch.exp(0.5 * logvar)[None]).abs().amax(-1).min(1).values
    assert gap.max() < 5
    with pytest.raises(UserError, match="train"):
        LatentPrior("posterior", vae, BuildContext(), 2, "test")
