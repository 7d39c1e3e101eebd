"""Consistency training losses of iCT and sLCT in latent space.

References: iCT, Song & Dhariwal 2023 (arXiv 2310.14189); sLCT, Dao et al. 2025
(arXiv 2502.01441), Sec. 4; official code quandao10/LCT ``karras_diffusion.py`` (conventions).

At training step k with N = N(k) grid points σ_0 = σ_max > … > σ_{N−1} = σ_min:
  i ~ p (lognormal, :func:`index_probabilities`), n ~ N(0, I) (or the OT partner from the batch),
  student  f_θ(x + σ_i·n, σ_i),   target  stopgrad f_θ(x + σ_{i+1}·n, σ_{i+1})
  (the same online weights and the same dropout RNG state),
  m = mean_d (f_student − f_target)²   (a mean over dimensions, the official convention),
  L_CT = λ_i·ρ(m, c), λ_i = 1/(σ_i − σ_{i+1}), with
    Cauchy (sLCT Eq. 6, coded as log(0.5m + c²) − 2 log c):  ρ(m, c) = log(1 + m/(2c²)),
    Pseudo-Huber (iCT):                                       ρ(m, c) = √(m + c²) − c.
  Diffusion term (sLCT Sec. 4.1) on samples with i ≥ ⌊0.75·N⌋ (the low-noise quarter):
    L_diff = mean_selected [mean_d (f_student − x)²·(1/σ_i² + 1/σ_d²)], 0 if none is selected
    (the official code returns NaN and stops; a deliberate deviation).
  Total = mean(L_CT) + w·L_diff (w = 5 in sLCT, 0 in iCT).
c: constant (iCT, 0.00054·√D) or sLCT's adaptive schedule (:func:`adaptive_c`).
"""

from __future__ import annotations

import attrs
import torch
from latentzoo.config import option
from torch import nn

from latentzoo_sclt.schedules import (
    adaptive_c,
    ict_c,
    index_probabilities,
    num_points,
    sigma_grid,
)

__all__ = ["cauchy", "pseudo_huber", "diffusion_loss", "ConsistencyLossConfig",
           "PseudoHuberLossConfig", "ConsistencyTrainingLoss", "cauchy_loss", "pseudo_huber_loss",
           "td_residual_statistics"]


def cauchy(m: torch.Tensor, c: float) -> torch.Tensor:
    """Cauchy loss log(1 + m/(2c²)); dρ/dm = 1/(2c² + m) shrinks as m grows (bounded influence)."""
    return torch.log1p(m / (2 * c * c))


def pseudo_huber(m: torch.Tensor, c: float) -> torch.Tensor:
    """Pseudo-Huber loss √(m + c²) − c; dρ/dm = 1/(2√(m + c²))."""
    return torch.sqrt(m + c * c) - c


ROBUST = {"cauchy": cauchy, "pseudo_huber": pseudo_huber}


def diffusion_loss(prediction: torch.Tensor, x: torch.Tensor, sigma: torch.Tensor,
                   mask: torch.Tensor, sigma_data: float = 0.5) -> torch.Tensor:
    """mean over masked rows of mean_d (prediction − x)²·(1/σ² + 1/σ_d²); 0 when none is masked."""
    if not bool(mask.any()):
        return prediction.sum() * 0.0  # keeps the graph, contributes exactly 0
    residual = ((prediction - x) ** 2).flatten(1).mean(1)
    weight = 1 / sigma ** 2 + 1 / sigma_data ** 2
    return (residual * weight)[mask].mean()


def diffusion_mask(index: torch.Tensor, points: int, fraction: float = 0.75) -> torch.Tensor:
    """Samples in the low-noise part of the grid: i ≥ int(fraction·N)."""
    return index >= int(fraction * points)


@attrs.frozen
class ConsistencyLossConfig:
    metric: str = option("cauchy", "robust function ρ", choices=tuple(ROBUST))
    c_schedule: str = option("adaptive", "c: sLCT's adaptive schedule or the constant 0.00054·√D",
                             choices=("adaptive", "constant"))
    c_constant: float = option(0.0, "constant c (0: iCT's 0.00054·√D)", ge=0)
    c_first_stage: str = option("official", "adaptive c while N − 1 = s0: 0.00054·√D (official) "
                                "or the formula value c(s0)", choices=("official", "formula"))
    c_slope: float = option(-1.15, "adaptive c = exp(slope·ln(N − 1) + intercept)")
    c_intercept: float = option(-0.85, "adaptive c intercept")
    diffusion_weight: float = option(5.0, "weight w of the x0-regression term (0: off)", ge=0)
    diffusion_fraction: float = option(0.75, "diffusion term on i ≥ ⌊fraction·N⌋", gt=0, le=1)
    total_steps: int = option(4000, "K: set it to the stage's steps (the curriculum's length)", gt=0)
    s0: int = option(10, "initial discretisation steps s0", gt=0)
    s1: int = option(1280, "final discretisation steps s1", gt=0)
    sigma_min: float = option(0.002, "σ_min", gt=0)
    sigma_max: float = option(80.0, "σ_max", gt=0)
    rho: float = option(7.0, "ρ of the Karras grid", gt=0)
    p_mean: float = option(-1.1, "P_mean of the lognormal index distribution")
    p_std: float = option(2.0, "P_std of the lognormal index distribution", gt=0)
    sigma_data: float = option(0.5, "σ_d of the standardised latents", gt=0)

    def __attrs_post_init__(self):
        if self.s1 < self.s0:
            raise ValueError(f"s1 = {self.s1} must be >= s0 = {self.s0}")
        if self.sigma_max <= self.sigma_min:
            raise ValueError(f"sigma_max = {self.sigma_max} must exceed sigma_min = {self.sigma_min}")


@attrs.frozen
class PseudoHuberLossConfig(ConsistencyLossConfig):
    """iCT defaults: Pseudo-Huber, constant c = 0.00054·√D, no diffusion term."""

    metric: str = option("pseudo_huber", "robust function ρ", choices=tuple(ROBUST))
    c_schedule: str = option("constant", "c: sLCT's adaptive schedule or the constant 0.00054·√D",
                             choices=("adaptive", "constant"))
    diffusion_weight: float = option(0.0, "weight w of the x0-regression term (0: off)", ge=0)


def _rng_state(device: torch.device):
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return torch.get_rng_state(), cuda


def _set_rng_state(state, device: torch.device) -> None:
    torch.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state(state[1], device)


class ConsistencyTrainingLoss(nn.Module):
    """``loss(model, batch)`` for ``model(x, σ)``; batch has ``x`` and optionally ``noise``."""

    def __init__(self, config: ConsistencyLossConfig, ctx=None):
        super().__init__()
        self.config = config
        self.robust = ROBUST[config.metric]
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self._grids: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def grid(self, points: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        if points not in self._grids:
            cfg = self.config
            sigmas = sigma_grid(points, cfg.sigma_min, cfg.sigma_max, cfg.rho)
            self._grids[points] = (sigmas, index_probabilities(sigmas, cfg.p_mean, cfg.p_std))
        sigmas, probs = self._grids[points]
        return sigmas.to(device), probs.to(device)

    def robustness(self, points: int, dim: int) -> float:
        cfg = self.config
        if cfg.c_schedule == "constant":
            return cfg.c_constant or ict_c(dim)
        return adaptive_c(points, cfg.s0, dim, cfg.c_first_stage, cfg.c_slope, cfg.c_intercept)

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        cfg = self.config
        x = batch["x"].float()
        noise = batch["noise"].float() if "noise" in batch else torch.randn_like(x)
        points = num_points(int(self.step), cfg.total_steps, cfg.s0, cfg.s1)
        sigmas, probs = self.grid(points, x.device)
        index = torch.multinomial(probs, len(x), replacement=True)
        sigma, sigma_next = sigmas[index], sigmas[index + 1]
        column = (-1,) + (1,) * (x.dim() - 1)
        state = _rng_state(x.device)
        student = model(x + sigma.reshape(column) * noise, sigma)
        _set_rng_state(state, x.device)  # same dropout mask for the target pass
        with torch.no_grad():
            target = model(x + sigma_next.reshape(column) * noise, sigma_next)
        m = ((student - target) ** 2).flatten(1).mean(1)
        c = self.robustness(points, x[0].numel())
        ct = self.robust(m, c) / (sigma - sigma_next)
        mask = diffusion_mask(index, points, cfg.diffusion_fraction)
        diff = diffusion_loss(student, x, sigma, mask, cfg.sigma_data)
        loss = ct.mean() + cfg.diffusion_weight * diff
        pair_cost = batch.get("pair_cost")
        if pair_cost is None:
            pair_cost = ((x - noise) ** 2).flatten(1).sum(1).mean()
        stats = getattr(model, "stats", None)
        if stats is not None and model.training:
            stats.record(float(pair_cost.detach()), float(ct.mean().detach()), points)
        return {"loss": loss, "ct_loss": ct.mean().detach(), "diffusion_loss": diff.detach(),
                "points": torch.tensor(float(points)), "c": torch.tensor(c),
                "pair_cost": pair_cost.detach()}

    def after_step(self, model: nn.Module, step: int) -> None:
        self.step.fill_(step)


def cauchy_loss(config: ConsistencyLossConfig, ctx) -> ConsistencyTrainingLoss:
    return ConsistencyTrainingLoss(config, ctx)


def pseudo_huber_loss(config: PseudoHuberLossConfig, ctx) -> ConsistencyTrainingLoss:
    return ConsistencyTrainingLoss(config, ctx)




@torch.no_grad()
def td_residual_statistics(model: nn.Module, x: torch.Tensor, points: int, noise: torch.Tensor | None = None,
                           sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0,
                           p_mean: float = -1.1, p_std: float = 2.0) -> tuple[float, float]:
    """Mean and std of the squared TD residual m at a grid of ``points`` points (sLCT Sec. 4.3).

    m = mean_d (f(x + σ_i n, σ_i) − f(x + σ_{i+1} n, σ_{i+1}))², i ~ p. Measuring the std at
    several N and passing (N − 1, std) to :func:`latentzoo_sclt.schedules.fit_c_schedule` refits
    the adaptive-c schedule for new data (the paper fit exp(−1.15·ln(N − 1) − 0.85) on CelebA).
    """
    sigmas = sigma_grid(points, sigma_min, sigma_max, rho).to(x.device)
    probs = index_probabilities(sigmas, p_mean, p_std).to(x.device)
    index = torch.multinomial(probs, len(x), replacement=True)
    noise = torch.randn_like(x) if noise is None else noise
    sigma, sigma_next = sigmas[index], sigmas[index + 1]
    column = (-1,) + (1,) * (x.dim() - 1)
    m = ((model(x + sigma.reshape(column) * noise, sigma)
          - model(x + sigma_next.reshape(column) * noise, sigma_next)) ** 2).flatten(1).mean(1)
    return float(m.mean()), float(m.std()) if len(m) > 1 else 0.0
