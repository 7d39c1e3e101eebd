"""GEDI's three terms pinned by hand (spec correctness tests 1-4 and more)."""

import math

import pytest
import torch
import torch.nn.functional as F
from latentzoo.build import BuildContext
from latentzoo.data import DataInfo, DataSplits
from latentzoo.errors import UserError
from latentzoo_gedi.objectives import (EBMConfig, GEDIConfig, GEDILoss, InvarianceConfig, NoGenConfig,
                                       PriorConfig, energy, invariance_cross_entropy, invariance_loss,
                                       prior_loss, sgld)
from torch import nn

LN3 = math.log(3.0)


# -- L_PRIOR ------------------------------------------------------------------------------------


def test_prior_of_uniform_outputs_is_c_log_c():
    assert prior_loss(torch.zeros(5, 2)).item() == pytest.approx(1.386294, abs=1e-6)  # 2 ln 2
    assert prior_loss(torch.full((4, 3), 7.0)).item() == pytest.approx(3.295837, abs=1e-6)  # 3 ln 3


def test_prior_by_hand():
    # rows softmax [1/4, 3/4] and [1/2, 1/2]: mean [3/8, 5/8]; L = ln(8/3) + ln(8/5)
    logits = torch.tensor([[0.0, LN3], [0.0, 0.0]])
    assert prior_loss(logits).item() == pytest.approx(0.98082925 + 0.47000363, abs=1e-6)


def test_prior_is_at_least_c_log_c():
    torch.manual_seed(0)
    for _ in range(5):
        assert prior_loss(3 * torch.randn(16, 4)).item() >= 4 * math.log(4) - 1e-5


def test_prior_under_cluster_collapse_is_finite_in_float32_where_the_official_form_is_inf():
    logits = torch.tensor([[200.0, 0.0], [200.0, 0.0]])  # every example in cluster 0
    official = -torch.log(F.softmax(logits, 1).mean(0)).sum()  # CPLearn: no eps, float32
    assert math.isinf(official.item())
    ours = prior_loss(logits)
    assert math.isfinite(ours.item()) and ours.item() >= 10
    assert ours.item() == pytest.approx(200.0, abs=1e-4)  # −log e^{−200} − log(1 − e^{−200})
    assert prior_loss(logits, eps=1e-8).item() == pytest.approx(-math.log(1e-8), abs=1e-4)  # 18.4207


def test_prior_equals_the_official_form_where_that_is_finite():
    torch.manual_seed(1)
    logits = torch.randn(8, 3, dtype=torch.float64)
    official = -torch.log(F.softmax(logits, 1).mean(0)).sum()
    assert prior_loss(logits).item() == pytest.approx(official.item(), abs=1e-12)


# -- L_INV --------------------------------------------------------------------------------------


def test_invariance_by_hand_and_not_symmetric():
    z1, z2 = torch.tensor([[0.0, LN3]]), torch.tensor([[0.0, 0.0]])
    # −½(ln ¼ + ln ¾)
    assert invariance_loss(z1, z2).item() == pytest.approx(0.5 * (1.3862944 + 0.2876821), abs=1e-6)
    assert invariance_loss(z2, z1).item() == pytest.approx(math.log(2), abs=1e-6)  # −(¼ + ¾) ln ½


def test_invariance_code_form_equals_cross_entropy():
    torch.manual_seed(2)
    z1, z2 = 5 * torch.randn(32, 6), 5 * torch.randn(32, 6)
    assert invariance_loss(z1, z2).item() == pytest.approx(invariance_cross_entropy(z1, z2).item(), abs=1e-6)


def test_invariance_of_identical_views_is_the_entropy():
    z = torch.tensor([[0.0, LN3], [0.0, 0.0]])
    # H([¼, ¾]) = 0.5623351, H([½, ½]) = ln 2
    assert invariance_loss(z, z).item() == pytest.approx((0.5623351 + math.log(2)) / 2, abs=1e-6)


def test_invariance_has_gradients_through_both_views():
    z1 = torch.tensor([[0.0, LN3]], requires_grad=True)
    z2 = torch.tensor([[1.0, 0.0]], requires_grad=True)
    invariance_loss(z1, z2).backward()
    assert z1.grad.abs().sum() > 0 and z2.grad.abs().sum() > 0


# -- energy and SGLD ----------------------------------------------------------------------------


def test_energy_is_minus_logsumexp():
    assert energy(torch.tensor([[0.0, LN3]])).item() == pytest.approx(-math.log(4), abs=1e-6)


class LinearEnergy(nn.Module):
    """One cluster, logit w·x: E(x) = −w·x, ∇_x E = −w."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))

    def forward(self, x):
        return (x @ self.w)[:, None]


def test_sgld_steps_by_hand_and_parameters_untouched():
    model = LinearEnergy([1.0, -2.0])
    x0 = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    x = sgld(model, x0, steps=3, step_size=0.1, noise=0.0)  # x ← x + η w, three times
    assert torch.allclose(x, x0 + 0.3 * torch.tensor([1.0, -2.0]))
    assert model.w.grad is None and not x.requires_grad


def test_sgld_without_noise_lowers_the_energy_of_a_fixed_network():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(2, 16), nn.SiLU(), nn.Linear(16, 3))
    x0 = torch.randn(64, 2)
    x = sgld(model, x0, steps=5, step_size=1e-3, noise=0.0)
    with torch.no_grad():
        assert energy(model(x)).mean() < energy(model(x0)).mean()


# -- the loss module ----------------------------------------------------------------------------


def _ctx(x=None, seed=0):
    x = torch.tensor([[-1.0, 0.0], [1.0, 2.0]]) if x is None else x
    data = DataSplits({"train": {"x": x, "y": torch.zeros(len(x), dtype=torch.long)}},
                      DataInfo(input_shape=tuple(x.shape[1:]), num_classes=2))
    return BuildContext(data=data.info, splits=data, seed=seed)


def test_nogen_total_is_the_official_weighting():
    z1, z2 = torch.tensor([[0.0, LN3], [0.0, 0.0]]), torch.tensor([[0.0, 0.0], [0.0, LN3]])
    loss = GEDILoss(NoGenConfig(beta=0.1), _ctx())
    out = loss(nn.Identity(), {"x1": z1, "x2": z2})
    expected = 0.5 * prior_loss(z1) + 0.5 * 0.1 * invariance_cross_entropy(z1, z2)
    assert out["loss"].item() == pytest.approx(expected.item(), abs=1e-6)
    assert not hasattr(loss, "buffer")  # no generative term: no replay buffer


def test_variant_defaults():
    assert (GEDIConfig().gen_weight, GEDIConfig().prior_weight, GEDIConfig().beta) == (1.0, 0.5, 0.1)
    assert NoGenConfig().gen_weight == 0.0
    assert (PriorConfig().prior_weight, PriorConfig().beta, PriorConfig().gen_weight) == (1.0, 0.0, 0.0)
    assert 0.5 * InvarianceConfig().beta == 1.0 and InvarianceConfig().prior_weight == 0.0
    assert (EBMConfig().gen_weight, EBMConfig().prior_weight, EBMConfig().beta) == (1.0, 0.0, 0.0)


def test_generative_gradient_is_data_minus_samples_and_samples_are_detached():
    # one buffer row b, no restarts, no noise: every chain gives x̃ = b + K η w.
    # L_GEN = mean(−w·x1) − mean(−w·x̃)  =>  dL/dw = −mean(x1) + x̃
    config = EBMConfig(buffer_size=1, reinit_prob=0.0, sgld_noise=0.0, sgld_steps=2,
                       sgld_step_size=0.25, energy_l2=0.0)
    loss = GEDILoss(config, _ctx())
    b = torch.tensor([0.5, -0.5])
    loss.buffer.copy_(b[None])
    model = LinearEnergy([1.0, 2.0])
    x1 = torch.tensor([[1.0, 0.0], [3.0, 2.0]])
    out = loss(model, {"x1": x1, "x2": x1})
    out["loss"].backward()
    samples = b + 2 * 0.25 * torch.tensor([1.0, 2.0])
    assert torch.allclose(model.w.grad, -x1.mean(0) + samples)
    assert torch.allclose(loss.buffer[0], samples)  # chains are written back
    # L_GEN = −(1 + 7)/2 + (1·1 + 2·0.5) = −2
    assert out["gen"].item() == pytest.approx(-2.0, abs=1e-6)


def test_energy_penalty_by_hand():
    config = EBMConfig(buffer_size=1, reinit_prob=0.0, sgld_noise=0.0, sgld_steps=1,
                       sgld_step_size=1e-9, energy_l2=0.5)
    loss = GEDILoss(config, _ctx())
    loss.buffer.zero_()
    model = LinearEnergy([1.0, 0.0])
    out = loss(model, {"x1": torch.tensor([[2.0, 0.0]]), "x2": torch.tensor([[2.0, 0.0]])})
    # E(x1) = −2, E(x̃ ≈ 0) = 0: L_GEN = −2, penalty 0.5·(4 + 0) = 2
    assert out["loss"].item() == pytest.approx(0.0, abs=1e-6)


def test_replay_buffer_lives_in_the_data_box_and_is_seeded():
    a = GEDILoss(GEDIConfig(buffer_size=500), _ctx(seed=5))
    b = GEDILoss(GEDIConfig(buffer_size=500), _ctx(seed=5))
    assert torch.equal(a.buffer, b.buffer)
    assert (a.buffer[:, 0] >= -1).all() and (a.buffer[:, 0] <= 1).all()
    assert (a.buffer[:, 1] >= 0).all() and (a.buffer[:, 1] <= 2).all()
    assert set(a.state_dict()) == {"box_low", "box_high", "buffer"}  # checkpointed with the run
    wide = GEDILoss(GEDIConfig(buffer_size=10, box_margin=0.5), _ctx())
    assert torch.allclose(wide.box_low, torch.tensor([-2.0, -1.0]))
    assert torch.allclose(wide.box_high, torch.tensor([2.0, 3.0]))


def test_bad_configs_fail_clearly():
    with pytest.raises(UserError, match="all 0"):
        GEDILoss(NoGenConfig(prior_weight=0.0, beta=0.0), _ctx())
    loss = GEDILoss(NoGenConfig(), _ctx())
    with pytest.raises(UserError, match="two views"):
        loss(nn.Identity(), {"x": torch.zeros(2, 2)})
    with pytest.raises(ValueError, match="must be >= 0"):
        GEDIConfig(beta=-1.0)
    with pytest.raises(ValueError, match="must be <= 1"):
        GEDIConfig(reinit_prob=1.5)


def test_views_are_forwarded_separately_so_a_batchnorm_projector_sees_each_view_alone():
    from latentzoo_gedi.models import GEDINetwork
    from latentzoo_ssl.models import projection_mlp

    torch.manual_seed(4)
    model = GEDINetwork(nn.Linear(2, 8), projection_mlp(8, (8,), 3, batch_norm=True), temperature=0.1)
    x1, x2 = torch.randn(16, 2), 5 + 3 * torch.randn(16, 2)
    out = GEDILoss(PriorConfig(), _ctx())(model, {"x1": x1, "x2": x2})
    alone = prior_loss(model(x1))  # train mode: batch statistics of view 1 only
    joint = prior_loss(model(torch.cat([x1, x2]))[:16])
    assert out["prior"].item() == pytest.approx(alone.item(), abs=1e-6)
    assert abs(joint.item() - alone.item()) > 1e-3
