"""Sampling with one idempotent network f (no time input).

- ``sign.multistep``: x ← f(z), z ~ N(0, I); then for each noise level t_k (descending),
  re-noise on the teacher's chain and project again: x ← f(√ᾱ_{t_k}·x + √(1 − ᾱ_{t_k})·ε).
  ``steps`` network evaluations. SIGN reports multi-step sampling (re-noise, project again);
  the levels are ours (R): by default evenly spaced in the lower half of the chain,
  t_k/T = (1 − k/steps)/2, k = 1..steps − 1 (steps = 2: 0.25; steps = 4: 0.375, 0.25, 0.125), as
  in multistep consistency sampling (Song et al. 2023, Alg. 1). On DDPM's linear β the upper half
  is nearly pure noise (ᾱ ≈ 0.08 at t/T = 0.5 for T = 250), so re-noising there discards x.
- ``sign.repeat``: IGN's repeated application x ← f(x), k times from x = z (Shocher et al. 2023):
  for an idempotent f every k > 1 returns f(z) again.

Both put themselves in the generate stage's artifacts (``register_sampler``) so that
``diffusion.sampling_cost`` reports their evaluations per sample and wall time.
"""

from __future__ import annotations

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError
from latentzoo_diffusion.losses import noise_sample
from latentzoo_diffusion.samplers import register_sampler, resolve_shape
from latentzoo_diffusion.schedules import alphas_cumprod, make_betas
from torch import nn

__all__ = ["MultistepConfig", "RepeatConfig", "MultistepSampler", "RepeatSampler", "renoise_levels"]


def renoise_levels(steps: int, levels: tuple[float, ...]) -> tuple[float, ...]:
    """The steps − 1 re-noising levels (fractions of the chain): ``levels`` or (1 − k/steps)/2."""
    if levels:
        if len(levels) != steps - 1:
            raise UserError(f"sign.multistep: {steps} steps need {steps - 1} re-noising levels, "
                            f"found {len(levels)}: {levels}")
        if any(b >= a for a, b in zip(levels, levels[1:])):
            raise UserError(f"sign.multistep: levels must decrease, found {levels}")
        return tuple(levels)
    return tuple((1 - k / steps) / 2 for k in range(1, steps))


@attrs.frozen
class MultistepConfig:
    steps: int = option(1, "applications of f (network evaluations per sample)", gt=0)
    levels: tuple[float, ...] = option((), "re-noising levels t_k/T, descending, steps − 1 of them "
                                       "(empty: (1 − k/steps)/2)", gt=0, lt=1)
    timesteps: int = option(1000, "length T of the teacher's chain", gt=1)
    schedule: str = option("linear", "the teacher's β schedule", choices=("linear", "cosine"))
    shape: tuple[int, ...] = option((), "shape of one sample (empty: the data's)", gt=0)


class MultistepSampler:
    """x ← f(z); x ← f(√ᾱ_k·x + √(1 − ᾱ_k)·ε) for each re-noising level."""

    def __init__(self, config: MultistepConfig, ctx=None):
        self.shape = resolve_shape(config.shape, "", ctx, "sign.multistep")
        alpha_bar = alphas_cumprod(make_betas(config.schedule, config.timesteps)).float()
        levels = renoise_levels(config.steps, config.levels)
        self.alpha_bars = [alpha_bar[round(level * (config.timesteps - 1))] for level in levels]
        self.nfe = config.steps
        register_sampler(ctx, self)

    @torch.no_grad()
    def sample(self, model: nn.Module, num: int) -> torch.Tensor:
        device = next(model.parameters()).device
        x = model(torch.randn(num, *self.shape, device=device))
        for alpha_bar in self.alpha_bars:
            x = model(noise_sample(x, torch.randn_like(x), alpha_bar.expand(num).to(device)))
        return x


@attrs.frozen
class RepeatConfig:
    applications: int = option(1, "k: x ← f(x) k times from z", gt=0)
    shape: tuple[int, ...] = option((), "shape of one sample (empty: the data's)", gt=0)


class RepeatSampler:
    """IGN: f applied k times to z ~ N(0, I)."""

    def __init__(self, config: RepeatConfig, ctx=None):
        self.shape = resolve_shape(config.shape, "", ctx, "sign.repeat")
        self.nfe = config.applications
        register_sampler(ctx, self)

    @torch.no_grad()
    def sample(self, model: nn.Module, num: int) -> torch.Tensor:
        device = next(model.parameters()).device
        x = torch.randn(num, *self.shape, device=device)
        for _ in range(self.nfe):
            x = model(x)
        return x
