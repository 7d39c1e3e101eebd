"""Wiring of the conditional denoiser and the ε loss (Form 1, Form 2, unconditional, CFG drop)."""

import math

import pytest
import torch
from latentzoo.build import BuildContext
from latentzoo.errors import UserError
from latentzoo_diffusevae.losses import EpsLoss, EpsLossConfig
from latentzoo_diffusevae.models import ConditionalDenoiser
from latentzoo_diffusevae.vae import VAE
from torch import nn


def _net(form="form1", z_dim=0):
    torch.manual_seed(0)
    net = ConditionalDenoiser((64,), form, width=16, depth=1, time_dim=8, z_dim=z_dim)
    # the adaLN modulation starts at zero; randomise everything so that every input matters
    for p in net.parameters():
        nn.init.normal_(p, std=0.3)
    return net


def test_conditional_output_depends_on_x_hat_and_z():
    net = _net("form1", z_dim=3)
    x, t = torch.randn(4, 64), torch.full((4,), 10.0)
    a, b = torch.rand(4, 64), torch.rand(4, 64)
    z = torch.randn(4, 3)
    assert not torch.allclose(net(x, t, a), net(x, t, b))
    assert not torch.allclose(net(x, t, a, z), net(x, t, a, z + 1))


def test_unconditional_baseline_ignores_the_condition():
    net = _net("none", z_dim=3)
    x, t = torch.randn(4, 64), torch.full((4,), 10.0)
    out = net(x, t)
    assert torch.equal(net(x, t, torch.rand(4, 64), torch.randn(4, 3)), out)
    # the zeroed channel: same network as a conditional one fed x̂ = 0
    cond = _net("form1", z_dim=3)
    cond.load_state_dict(net.state_dict())
    assert torch.equal(cond(x, t, torch.zeros(4, 64), torch.zeros(4, 3)), out)


class _Recorder(nn.Module):
    """Returns zeros and records what it was called with; 'form' as the loss reads it."""

    def __init__(self, form, z_dim=0):
        super().__init__()
        self.form, self.z_dim = form, z_dim
        self.weight = nn.Parameter(torch.zeros(()))

    def forward(self, x, t, cond=None, z=None):
        self.seen = (x.clone(), t.clone(), None if cond is None else cond.clone(), z)
        return torch.zeros_like(x) + self.weight


class _ConstantVAE(nn.Module):
    """μ = 0, log σ² = −∞-ish (z = μ), Dec(z) = 0.75 → x̂ = 2·0.75 − 1 = 0.5."""

    latent_dim = 2

    def __init__(self):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(()))

    def encode(self, x):
        return torch.zeros(len(x), 2), torch.full((len(x), 2), -80.0)

    def decode(self, z):
        return torch.full((len(z), 64), 0.75)


def _loss(**kw):
    return EpsLoss(EpsLossConfig(**kw), BuildContext(artifacts={"vae": _ConstantVAE()}))


@pytest.mark.parametrize("kind,expected", [("l2", 4.0), ("l1", 2.0)])
def test_loss_value_with_a_zero_predictor(kind, expected):
    batch = {"x": torch.rand(3, 64), "noise": torch.full((3, 64), 2.0)}
    assert _loss(loss=kind)(_Recorder("form1"), batch)["loss"].item() == pytest.approx(expected)


@pytest.mark.parametrize("form", ["form1", "form2", "none"])
def test_network_input_follows_the_form(form):
    torch.manual_seed(0)
    x = torch.rand(5, 64)
    noise = torch.randn(5, 64)
    loss = _loss()
    model = _Recorder(form)
    loss(model, {"x": x, "noise": noise})
    x_t, t, cond, _ = model.seen
    a = loss.alpha_bar[t.long()].reshape(-1, 1)
    form1 = a.sqrt() * (2 * x - 1) + (1 - a).sqrt() * noise  # x_0 = 2x − 1
    if form == "none":
        assert cond is None
        torch.testing.assert_close(x_t, form1)
    else:
        torch.testing.assert_close(cond, torch.full((5, 64), 0.5))  # x̂ = 2·Dec(z) − 1
        torch.testing.assert_close(x_t, form1 + (0.5 if form == "form2" else 0.0))


def test_vae_is_frozen_and_required_for_conditional_forms():
    vae = VAE((64,), 4, 8)
    loss = EpsLoss(EpsLossConfig(), BuildContext(artifacts={"vae": vae}))
    assert not any(p.requires_grad for p in vae.parameters())
    assert not [p for p in loss.parameters() if p.requires_grad]
    with pytest.raises(UserError, match="inputs"):
        EpsLoss(EpsLossConfig(), BuildContext())(_Recorder("form1"), {"x": torch.rand(2, 64)})
    # the unconditional baseline trains without a VAE
    EpsLoss(EpsLossConfig(), BuildContext())(_Recorder("none"), {"x": torch.rand(2, 64)})


def test_classifier_free_drop_per_batch_and_per_example():
    x = torch.rand(400, 64)
    model = _Recorder("form1", z_dim=2)
    torch.manual_seed(0)
    _loss(cfd_rate=1.0)(model, {"x": x})
    assert torch.count_nonzero(model.seen[2]) == 0 and torch.count_nonzero(model.seen[3]) == 0
    # per batch (official): one draw decides for all examples; over 12 batches both outcomes occur
    torch.manual_seed(1)
    outcomes = set()
    for _ in range(12):
        _loss(cfd_rate=0.5)(model, {"x": x})
        dropped_rows = model.seen[2].abs().sum(1).eq(0)
        assert dropped_rows.all() or not dropped_rows.any()
        outcomes.add(bool(dropped_rows.all()))
    assert outcomes == {True, False}
    # per example: about half the rows are dropped
    torch.manual_seed(2)
    _loss(cfd_rate=0.5, cfd_mode="sample")(model, {"x": x})
    dropped = model.seen[2].abs().sum(1).eq(0).float().mean().item()
    assert 0.4 < dropped < 0.6
    assert math.isclose(dropped, model.seen[3].abs().sum(1).eq(0).float().mean().item())


def test_conditional_unet_takes_2c_channels_and_returns_c():
    from latentzoo_diffusevae.models import ConditionalUNet

    torch.manual_seed(0)
    net = ConditionalUNet((1, 8, 8), "form1", channels=(8, 16), time_dim=8)
    assert net.unet.stem.in_channels == 2
    for p in net.parameters():
        nn.init.normal_(p, std=0.3)
    x, t = torch.randn(2, 1, 8, 8), torch.full((2,), 3.0)
    out = net(x, t, torch.rand(2, 1, 8, 8))
    assert out.shape == (2, 1, 8, 8)
    assert not torch.allclose(out, net(x, t, torch.rand(2, 1, 8, 8)))
    net.form = "none"
    assert torch.equal(net(x, t, torch.rand(2, 1, 8, 8)), net(x, t))


def test_cifar10_without_files_is_a_missing_data_error(tmp_path):
    from latentzoo.errors import MissingDataError
    from latentzoo_diffusevae.data import Cifar10Config, cifar10

    with pytest.raises(MissingDataError, match="cifar-10-batches-py"):
        cifar10(Cifar10Config(root=str(tmp_path)), None)
