"""NsLN, the consistency boundary condition, and the 1-/2-step sampler (spec test 6)."""

import pytest
import torch
from latentzoo_diffusion.schedules import karras_sigmas
from latentzoo_sclt.layers import NonScalingLayerNorm
from latentzoo_sclt.model import ConsistencyModel, TrainingStats
from latentzoo_sclt.samplers import consistency_sample
from torch import nn


def test_nonscaling_layernorm_has_no_trainable_gain():
    norm = NonScalingLayerNorm(6)
    assert not norm.weight.requires_grad and torch.equal(norm.weight, torch.ones(6))
    assert norm.bias.requires_grad and torch.equal(norm.bias, torch.zeros(6))
    h = torch.tensor([[1.0, -2.0, 3.0, 0.5, 4.0, -1.0]])
    # mean 0.916667, biased var 26.208333/6 = 4.368056: y_0 = 0.083333/√(4.368056 + 1e-5) = 0.039873
    assert norm(h)[0, 0].item() == pytest.approx(0.039873, abs=1e-5)
    assert torch.allclose(norm(7.0 * h), norm(h), atol=1e-5)  # y(a·h) = y(h), a > 0


def test_consistency_model_uses_nsln_and_keeps_the_boundary():
    torch.manual_seed(0)
    model = ConsistencyModel(5, width=16, depth=2, time_dim=8, norm="nonscaling")
    norms = [m for m in model.modules() if isinstance(m, nn.LayerNorm)]
    assert norms and all(isinstance(m, NonScalingLayerNorm) for m in norms)
    assert not any(isinstance(m, NonScalingLayerNorm)
                   for m in ConsistencyModel(5, 16, 2, time_dim=8, norm="layernorm").modules())
    x = torch.randn(4, 5) * 3
    assert torch.equal(model(x, torch.full((4,), 0.002)), x)  # f(x, σ_min) = x exactly
    assert not torch.equal(model(x, torch.full((4,), 1.0)), x)


class IdentityModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.sigmas = []

    def forward(self, x, sigma):
        self.sigmas.append(float(sigma[0]))
        return x


def test_two_step_sampler_by_hand():
    sigmas = karras_sigmas(641).float()
    model = IdentityModel()
    z, z2 = torch.ones(3, 2), torch.ones(3, 2)
    out = consistency_sample(model, z, (0, 420, 640), sigmas, 0.002, noises=[z2, torch.zeros(3, 2)])
    # σ_420 of 641 = (80^(1/7) + 420/640·(0.002^(1/7) − 80^(1/7)))^7 = 0.528564
    assert model.sigmas == pytest.approx([80.0, 0.528564], abs=1e-5)  # 2 calls; none at σ_min
    # identity f: 80·1, then + √(0.528564² − 0.002²)·1 = 80.528560
    assert torch.allclose(out, torch.full((3, 2), 80.52856), atol=1e-4)


def test_one_step_sampler_calls_once():
    model = IdentityModel()
    out = consistency_sample(model, torch.ones(2, 2), (0, 1), torch.tensor([80.0, 0.002]), 0.002)
    assert model.sigmas == [80.0]
    assert torch.allclose(out, torch.full((2, 2), 80.0), atol=2e-3)  # + √(0.002² − 0.002²)·z = 0


def test_training_stats_restart_per_curriculum_stage():
    stats = TrainingStats()
    stats.record(10.0, 100.0, 11)
    for value in (1.0, 2.0, 3.0):
        stats.record(20.0, value, 21)
    summary = stats.summary()
    assert summary["pair_cost"] == pytest.approx(17.5)  # (10 + 3·20)/4
    assert summary["ct_loss_mean_last_stage"] == pytest.approx(2.0)
    assert summary["ct_loss_std_last_stage"] == pytest.approx(1.0)  # sample std of 1, 2, 3
    assert summary["final_points"] == 21.0


def test_multistep_config_requires_a_terminal_last_index():
    from latentzoo.build import BuildContext
    from latentzoo.errors import UserError
    from latentzoo_sclt.samplers import MultistepConfig, multistep

    with pytest.raises(UserError, match="ending at steps − 1 = 640"):
        multistep(MultistepConfig(ts=(0, 420)), BuildContext())
