"""IGN's and SIGN's terms on inputs small enough to compute by hand (values in the comments)."""

import math

import pytest
import torch
from latentzoo.build import BuildContext
from latentzoo.data import DataInfo
from latentzoo_diffusion.models import ResidualDenoiser
from latentzoo_diffusion.schedules import alphas_cumprod, make_betas
from torch import nn

from latentzoo_sign.losses import (
    IGNConfig,
    IGNObjective,
    SIGNConfig,
    SIGNObjective,
    clamp_tightness,
    dmd_loss,
    flow_loss,
    idempotence_loss,
    reconstruction_loss,
    regression_pairs,
    teacher_step,
    tightness_loss,
)


class PointMassEps(nn.Module):
    """The exact ε-predictor for data = the point c: ε̂ = (x_t − √ᾱ_t·c)/√(1 − ᾱ_t)."""

    def __init__(self, c: torch.Tensor, alpha_bar: torch.Tensor):
        super().__init__()
        self.c, self.alpha_bar = c, alpha_bar.float()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x, t):
        a = self.alpha_bar[t.long()].reshape(-1, 1)
        return (x - a.sqrt() * self.c) / (1 - a).sqrt()


class GaussianEps(nn.Module):
    """Exact ε-predictor for 1-D data N(mu, 1): E[x0|x_t] = √ᾱ·x_t + (1 − ᾱ)·mu, so
    ε̂ = √(1 − ᾱ)·(x_t − √ᾱ·mu)."""

    def __init__(self, mu: float, alpha_bar: torch.Tensor):
        super().__init__()
        self.mu, self.alpha_bar = mu, alpha_bar.float()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x, t):
        a = self.alpha_bar[t.long()].reshape(-1, 1)
        return (1 - a).sqrt() * (x - a.sqrt() * self.mu)


def _linear(weight):
    layer = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight))
    return layer


def test_tight_clamp_value():
    # tanh(−1/(1.5·0.2))·1.5·0.2 = tanh(−3.3333)·0.3 = −0.997459·0.3 = −0.29924 (spec test 1)
    value = clamp_tightness(torch.tensor(-1.0), torch.tensor(0.2), a=1.5)
    assert value.item() == pytest.approx(-0.29924, abs=1e-5)


def test_tight_clamp_does_not_backpropagate_into_rec():
    rec = torch.tensor(0.2, requires_grad=True)
    raw = torch.tensor(-1.0, requires_grad=True)
    clamp_tightness(raw, rec).backward()
    assert rec.grad is None
    # d/draw tanh(raw/0.3)·0.3 = 1 − tanh²(−3.3333) = 1 − 0.994924 = 0.005076
    assert raw.grad.item() == pytest.approx(0.005076, abs=2e-5)


def test_idempotence_gradient_flows_only_through_inner_f():
    # f(x) = Wx, W = [[2, 1], [1, 3]], z = (1, 0): Wz = (2, 1), W(Wz) = (5, 5), u = (3, 4),
    # L = mean|u| = 3.5. With the outer W constant: dL/dW = (W − I)ᵀ·sign(u)·zᵀ/2
    # = [[1, 1], [1, 2]]ᵀ(1, 1)·(1, 0)/2 = (2, 3)·(1, 0)/2 = [[1, 0], [1.5, 0]].
    f = _linear([[2.0, 1.0], [1.0, 3.0]])
    frozen = _linear([[2.0, 1.0], [1.0, 3.0]]).requires_grad_(False)
    z = torch.tensor([[1.0, 0.0]])
    loss = idempotence_loss(frozen, f(z))
    assert loss.item() == pytest.approx(3.5)
    loss.backward()
    assert torch.allclose(f.weight.grad, torch.tensor([[1.0, 0.0], [1.5, 0.0]]))
    assert frozen.weight.grad is None


def test_tightness_gradient_flows_only_through_outer_f():
    # c = W′z = (2, 1) held constant; u = Wc − c = (5 − 2, 5 − 1) = (3, 4);
    # raw = −mean|u| = −3.5; d raw/dW = −sign(u)·cᵀ/2 = −[[2, 1], [2, 1]]/2.
    f = _linear([[2.0, 1.0], [1.0, 3.0]])
    frozen = _linear([[2.0, 1.0], [1.0, 3.0]]).requires_grad_(False)
    raw = tightness_loss(f, frozen, torch.tensor([[1.0, 0.0]]))
    assert raw.item() == pytest.approx(-3.5)
    raw.backward()
    assert torch.allclose(f.weight.grad, -torch.tensor([[1.0, 0.5], [1.0, 0.5]]))
    assert frozen.weight.grad is None


def test_ign_objective_routes_and_resyncs_copy():
    f = _linear([[2.0, 1.0], [1.0, 3.0]])
    objective = IGNObjective(IGNConfig())
    torch.manual_seed(0)
    out = objective(f, {"x": torch.tensor([[1.0, 1.0]])})
    out["loss"].backward()
    frozen = objective.frozen.module
    assert all(p.grad is None and not p.requires_grad for p in frozen.parameters())
    with torch.no_grad():
        f.weight.add_(1.0)
    objective(f, {"x": torch.tensor([[1.0, 1.0]])})
    assert torch.equal(objective.frozen.module.weight, f.weight)  # re-synced, not an EMA
    assert "frozen" not in dict(objective.named_modules())  # never checkpointed


def test_reconstruction_of_projector_is_zero_on_its_subspace():
    # P = diag(1, 1, 0) is an orthogonal projector; data in span(e1, e2): L_rec = 0, L_idem = 0.
    P = nn.Linear(3, 3, bias=False)
    with torch.no_grad():
        P.weight.copy_(torch.diag(torch.tensor([1.0, 1.0, 0.0])))
    x = torch.tensor([[0.3, -2.0, 0.0], [1.0, 4.0, 0.0]])
    assert reconstruction_loss(P, x).item() == 0.0
    assert idempotence_loss(P, P(torch.randn(5, 3))).item() == 0.0


def test_teacher_step_with_exact_denoiser_lands_on_the_point_mass():
    # Spec test 4: the DDIM/Euler step from any t to the clean end returns c exactly; to an
    # intermediate s it returns √ᾱ_s·c + √(1 − ᾱ_s)·ε (the same ε: a deterministic ODE path).
    alpha_bar = alphas_cumprod(make_betas("linear", 250)).float()
    c = torch.tensor([[0.25, -0.5, 1.0]])
    teacher = PointMassEps(c, alpha_bar)
    eps = torch.tensor([[1.0, -2.0, 0.5], [0.3, 0.1, -1.0]])
    t = torch.tensor([249, 37])
    x_t = alpha_bar[t].sqrt()[:, None] * c + (1 - alpha_bar[t]).sqrt()[:, None] * eps
    clean = teacher_step(teacher, x_t, t, torch.tensor([-1, -5]), alpha_bar)
    assert torch.allclose(clean, c.expand(2, 3), atol=1e-4)
    s = torch.tensor([200, 10])
    mid = teacher_step(teacher, x_t, t, s, alpha_bar)
    expected = alpha_bar[s].sqrt()[:, None] * c + (1 - alpha_bar[s]).sqrt()[:, None] * eps
    assert torch.allclose(mid, expected, atol=1e-5)


def test_flow_loss_with_identity_student_is_distance_to_teacher_endpoint():
    # f = f⁻ = identity, exact point-mass teacher, s = clean: target = c, so
    # L = mean((x_t − c)²) with x_t = √ᾱ·c + √(1 − ᾱ)·ε. ᾱ = (0.64): x_t = 0.8c + 0.6ε.
    alpha_bar = torch.tensor([0.64])
    c = torch.tensor([[1.0, 0.0]])
    eps = torch.tensor([[0.0, 1.0]])
    # x_t = (0.8, 0.6); (x_t − c)² = (0.04, 0.36), mean 0.2
    loss = flow_loss(nn.Identity(), nn.Identity(), PointMassEps(c, alpha_bar), c, eps,
                     torch.tensor([0]), torch.tensor([-1]), alpha_bar)
    assert loss.item() == pytest.approx(0.2, abs=1e-6)


def test_dmd_zero_gradient_when_fake_equals_teacher():
    alpha_bar = alphas_cumprod(make_betas("linear", 50)).float()
    teacher = ResidualDenoiser(4, 16, 1, 2, 8).eval()
    generator = nn.Linear(4, 4)
    x = generator(torch.randn(8, 4))
    loss = dmd_loss(x, teacher, teacher, torch.randn(8, 4), torch.randint(0, 50, (8,)), alpha_bar)
    loss.backward()
    assert loss.item() == 0.0
    assert all(torch.count_nonzero(p.grad) == 0 for p in generator.parameters())


def test_dmd_step_moves_shifted_gaussian_toward_data():
    # Data N(0, 1), generator x = z + mu, fake score = exact N(mu, 1) denoiser. One example,
    # z = 0, mu = 1, ᾱ = 0.5, ε = 0: x = 1, x_t = √0.5 = 0.70711; r = √ᾱ·x_t = 0.5;
    # q = √ᾱ·x_t + (1 − ᾱ)·mu = 1.0; w = 1/(|1 − 0.5| + 1e-6) = 2; g = (q − r)·w = 1.0.
    # L = ½·g² = 0.5 and dL/dmu = g = 1: an SGD step of 0.1 gives mu = 0.9.
    alpha_bar = torch.tensor([0.5])
    mu = torch.tensor(1.0, requires_grad=True)
    x = torch.zeros(1, 1) + mu
    loss = dmd_loss(x, GaussianEps(0.0, alpha_bar), GaussianEps(1.0, alpha_bar), torch.zeros(1, 1),
                    torch.tensor([0]), alpha_bar)
    assert loss.item() == pytest.approx(0.5, abs=1e-5)
    loss.backward()
    assert mu.grad.item() == pytest.approx(1.0, abs=1e-5)
    with torch.no_grad():
        mu -= 0.1 * mu.grad
    assert abs(mu.item()) < 1.0


def test_regression_pairs_of_point_mass_teacher_all_land_on_it():
    alpha_bar = alphas_cumprod(make_betas("linear", 100))
    c = torch.tensor([[0.5, -1.0]])
    z, y = regression_pairs(PointMassEps(c, alpha_bar), 6, (2,), alpha_bar, steps=7, seed=3)
    assert torch.allclose(y, c.expand(6, 2), atol=1e-4)
    z2, _ = regression_pairs(PointMassEps(c, alpha_bar), 6, (2,), alpha_bar, steps=7, seed=3)
    assert torch.equal(z, z2)  # a fixed noise set


def _sign(**overrides):
    teacher = ResidualDenoiser(4, 16, 1, 2, 8)
    ctx = BuildContext(data=DataInfo(input_shape=(4,)), artifacts={"teacher": teacher})
    config = SIGNConfig(timesteps=20, reg_pairs=8, reg_steps=4, **overrides)
    return SIGNObjective(config, ctx), teacher


def test_sign_objective_routing():
    objective, teacher = _sign()
    f = nn.Sequential(nn.Linear(4, 4))
    out = objective(f, {"x": torch.rand(8, 4)})
    assert set(out) >= {"loss", "rec", "idem", "flow", "dmd", "denoise", "reg"}
    out["loss"].backward()
    assert all(p.grad is None for p in objective.teacher.parameters())  # frozen teacher
    assert all(p.grad is None for p in teacher.parameters())            # the artifact is untouched
    assert all(p.grad is not None for p in objective.fake.parameters())  # ψ learns from L_denoise
    assert all(p.grad is not None for p in f.parameters())
    objective.train()
    assert objective.fake.training and not objective.teacher.training  # the teacher stays in eval
    objective.after_step(model=f, step=1)
    assert objective.target is not None and not any(p.requires_grad for p in objective.target.parameters())


def test_sign_objective_without_teacher_is_a_clear_error():
    from latentzoo.errors import UserError

    with pytest.raises(UserError, match="inputs"):
        SIGNObjective(SIGNConfig(), BuildContext(data=DataInfo(input_shape=(4,))))


def test_sign_config_ranges():
    with pytest.raises(ValueError, match="dmd_t_range"):
        SIGNConfig(dmd_t_range=(0.5, 0.2))
    with pytest.raises(ValueError, match="reg_steps"):
        SIGNConfig(timesteps=10, reg_steps=20)


def test_ablation_weights_drop_terms():
    objective, _ = _sign(dmd_weight=0.0, reg_weight=0.0)
    assert objective.fake is None and not hasattr(objective, "reg_z")
    out = objective(nn.Linear(4, 4), {"x": torch.rand(8, 4)})
    assert "dmd" not in out and "reg" not in out and math.isfinite(out["loss"].item())
