"""The spectral contrastive loss pinned by hand, its population form, and balancedness (spec tests 1, 2, 4)."""

import pytest
import torch
from torch import nn

from latentzoo_projection_head.losses import (SpectralCL, SpectralCLConfig, population_spectral_loss,
                                              spectral_contrastive_loss, weight_penalty)
from latentzoo_projection_head.models import LinearStack


class Identity(nn.Module):
    def forward(self, x):
        return x


def test_hand_batch_identical_views():
    # spec test 1: f(x) = [1,0],[0,1], f(x+) = f(x): -2 (1 + 1)/2 + (0² + 0²)/2 = -2
    f = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert spectral_contrastive_loss(f, f).item() == pytest.approx(-2.0)


def test_hand_batch_distinct_views():
    # f1 = [1,0],[0,1]; f2 = [1,1],[0,2]: G = f1 f2ᵀ = [[1,0],[1,2]]
    # -2 (1 + 2)/2 + (0² + 1²)/(2·1) = -3 + 0.5 = -2.5
    f1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    f2 = torch.tensor([[1.0, 1.0], [0.0, 2.0]])
    assert spectral_contrastive_loss(f1, f2).item() == pytest.approx(-2.5)


def test_loss_module_reads_both_views_and_adds_weight_decay():
    loss = SpectralCL(SpectralCLConfig(weight_decay=0.5))
    model = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
    batch = {"x1": torch.eye(2), "x2": torch.eye(2)}
    out = loss(model, batch)
    # -2 + (λ/2)‖I‖² = -2 + 0.25 · 2 = -1.5
    assert out["loss"].item() == pytest.approx(-1.5)
    assert out["contrastive"].item() == pytest.approx(-2.0)
    assert weight_penalty(model).item() == pytest.approx(1.0)


def test_population_loss_by_hand():
    # W = diag(1, 2), M = diag(0.5, 1), Σ = I: -2 (0.5 + 4) + (1² + 4²) = -9 + 17 = 8
    w = torch.diag(torch.tensor([1.0, 2.0]))
    value = population_spectral_loss(w, torch.diag(torch.tensor([0.5, 1.0])), torch.eye(2))
    assert value.item() == pytest.approx(8.0)


def _hand_moments(p, sigma, d):
    # M = diag(1 - p) on the features, Σ = diag(1) + σ² I (φ = 1), written out by hand
    m = torch.zeros(d, d)
    s = sigma**2 * torch.eye(d)
    for i, pi in enumerate(p):
        m[i, i] = 1 - pi
        s[i, i] += 1
    return m, s


def test_population_gradient_matches_minibatch_expectation():
    # spec test 2: E[∇ minibatch loss] = ∇ population loss (both sums are unbiased); 1e5 pairs
    from latentzoo_projection_head.data import feature_view

    torch.manual_seed(0)
    p, sigma, d = [0.0, 0.3, 0.6], 0.5, 4
    weights, augment = torch.ones(3), torch.tensor(p, dtype=torch.float64)
    w = (0.5 * torch.randn(3, d)).requires_grad_()
    cross, second = _hand_moments(p, sigma, d)
    (population,) = torch.autograd.grad(population_spectral_loss(w, cross, second), w)
    # 100 independent minibatches of 1000 pairs, one vectorised loss: their mean's gradient
    z = torch.randint(0, 2, (100_000, 3)).float() * 2 - 1
    x1, x2 = (feature_view(z, weights, augment, sigma, d).reshape(100, 1000, d) for _ in range(2))
    f1, f2 = x1 @ w.T, x2 @ w.T
    gram = f1 @ f2.transpose(1, 2)
    diagonal = gram.diagonal(dim1=1, dim2=2)
    minibatch = -2 * diagonal.mean(1) + ((gram**2).sum((1, 2)) - (diagonal**2).sum(1)) / (1000 * 999)
    assert minibatch[0].item() == pytest.approx(spectral_contrastive_loss(f1[0], f2[0]).item(), rel=1e-5)
    (estimate,) = torch.autograd.grad(minibatch.mean(), w)
    assert (estimate - population).norm() / population.norm() < 0.02


def _train(model, cross, second, weight_decay, lr, steps):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        w = model(torch.eye(len(cross))).T
        value = population_spectral_loss(w, cross, second)
        value = value + weight_decay * weight_penalty(model)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()


def _imbalance(model):
    w1, w2 = model.encoder.weight, model.head[0].weight
    return (w1 @ w1.T - w2.T @ w2).detach()


def test_weight_decay_balances_the_layers():
    # spec test 4: with λ > 0, W1W1ᵀ = W2ᵀW2 at a stationary point
    torch.manual_seed(0)
    cross, second = _hand_moments([0.0, 0.3, 0.6], 0.0, 3)
    model = LinearStack(3, 4, 1, init_std=0.3)
    assert _imbalance(model).abs().max() > 0.05
    _train(model, cross, second, weight_decay=0.05, lr=0.1, steps=1500)
    assert _imbalance(model).abs().max() < 1e-3


def test_imbalance_is_conserved_without_weight_decay():
    # spec test 4: with λ = 0, d/dt (W1W1ᵀ - W2ᵀW2) = 0 under gradient flow; GD drifts by O(lr²)
    torch.manual_seed(1)
    cross, second = _hand_moments([0.0, 0.3, 0.6], 0.0, 3)
    model = LinearStack(3, 4, 1, init_std=0.3)
    before, start = _imbalance(model), model.encoder.weight.detach().clone()
    _train(model, cross, second, weight_decay=0.0, lr=0.002, steps=500)
    moved = (model.encoder.weight.detach() - start).abs().max()
    assert moved > 0.1                                   # the weights did move...
    assert (_imbalance(model) - before).abs().max() < 0.01 * moved  # ...the imbalance did not


def test_population_mode_needs_moments():
    from latentzoo.errors import UserError

    with pytest.raises(UserError, match="cross_moment"):
        SpectralCL(SpectralCLConfig(population=True), None)


def test_population_mode_needs_a_linear_model():
    from latentzoo.data import DataInfo
    from latentzoo.errors import UserError

    class Ctx:
        data = DataInfo((2,), 2, {"cross_moment": torch.eye(2), "second_moment": torch.eye(2)})

    loss = SpectralCL(SpectralCLConfig(population=True), Ctx())
    with pytest.raises(UserError, match="linear"):
        loss(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), {})
    # on a linear stack it is the population loss of W = W2 W1
    model = LinearStack(2, 2, 1, init_std=0.1)
    with torch.no_grad():
        model.encoder.weight.copy_(torch.eye(2))
        model.head[0].weight.copy_(torch.diag(torch.tensor([1.0, 2.0])))
    # W = diag(1, 2), M = Σ = I: -2 (1 + 4) + (1 + 16) = 7
    assert loss(model, {})["loss"].item() == pytest.approx(7.0)
