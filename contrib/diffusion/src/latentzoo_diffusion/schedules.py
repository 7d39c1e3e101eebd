"""Noise schedules as plain functions: DDPM (linear, cosine β), EDM/Karras σ grids and the
EDM / consistency-model preconditioning coefficients.

References:
- DDPM, Ho et al. 2020 (arXiv 2006.11239): linear β_t from 1e-4 to 0.02 over T = 1000 steps,
  ᾱ_t = Π_{s≤t} (1 − β_s) (Eq. 4: q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I)).
- Improved DDPM, Nichol & Dhariwal 2021 (arXiv 2102.09672), Eq. 17: cosine schedule
  ᾱ(t) = f(t)/f(0), f(t) = cos²(((t/T + s)/(1 + s))·π/2), s = 0.008, β_t = 1 − ᾱ(t)/ᾱ(t−1)
  clipped to 0.999; respacing (Sec. 4): β'_i = 1 − ᾱ_{τ_i}/ᾱ_{τ_{i−1}}.
- EDM, Karras et al. 2022 (arXiv 2206.00364), Eq. 5: σ_i = (σ_max^{1/ρ} + i/(N−1)·(σ_min^{1/ρ} −
  σ_max^{1/ρ}))^ρ, i = 0..N−1 (index 0 is σ_max); Table 1 preconditioning c_skip, c_out, c_in,
  c_noise.
- Consistency models, Song et al. 2023 (arXiv 2303.01469), Appendix C: c_skip, c_out shifted by
  σ_min so that f(x, σ_min) = x exactly.

All functions return float64 tensors unless told otherwise; callers cast.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "linear_betas", "cosine_betas", "make_betas", "alphas_cumprod", "respaced_timesteps",
    "karras_sigmas", "edm_preconditioning", "consistency_preconditioning",
]


def linear_betas(num_timesteps: int = 1000, beta_start: float = 1e-4,
                 beta_end: float = 0.02) -> torch.Tensor:
    """DDPM linear schedule: β_t evenly spaced from ``beta_start`` to ``beta_end`` (Ho et al.)."""
    if num_timesteps < 1:
        raise ValueError(f"num_timesteps must be >= 1, found {num_timesteps}")
    return torch.linspace(beta_start, beta_end, num_timesteps, dtype=torch.float64)


def cosine_alpha_bar(t: torch.Tensor | float, s: float = 0.008) -> torch.Tensor:
    """f(t)/f(0) of Eq. 17 (Nichol & Dhariwal) for t ∈ [0, 1] (t = step / T)."""
    t = torch.as_tensor(t, dtype=torch.float64)
    f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    f0 = math.cos(s / (1 + s) * math.pi / 2) ** 2
    return f / f0


def cosine_betas(num_timesteps: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Cosine schedule: β_t = min(1 − ᾱ((t+1)/T)/ᾱ(t/T), max_beta), t = 0..T−1."""
    if num_timesteps < 1:
        raise ValueError(f"num_timesteps must be >= 1, found {num_timesteps}")
    steps = torch.arange(num_timesteps + 1, dtype=torch.float64) / num_timesteps
    alpha_bar = cosine_alpha_bar(steps, s)
    return torch.clamp(1 - alpha_bar[1:] / alpha_bar[:-1], max=max_beta)


def make_betas(schedule: str, num_timesteps: int) -> torch.Tensor:
    """β for ``schedule`` ∈ {"linear", "cosine"} with the papers' default constants."""
    if schedule == "linear":
        # Ho et al. use 1e-4..0.02 for T = 1000; scaled by 1000/T so short chains still end near ᾱ ≈ 0
        # (the rule of improved-diffusion's get_named_beta_schedule), clipped to 0.999 like the
        # cosine schedule so that T < 51 does not reach β = 1 (ᾱ_T = 0, x̂0 undefined).
        scale = 1000 / num_timesteps
        return linear_betas(num_timesteps, scale * 1e-4, scale * 0.02).clamp(max=0.999)
    if schedule == "cosine":
        return cosine_betas(num_timesteps)
    raise ValueError(f"unknown beta schedule '{schedule}' (choose 'linear' or 'cosine')")


def alphas_cumprod(betas: torch.Tensor) -> torch.Tensor:
    """ᾱ_t = Π_{s ≤ t} (1 − β_s)."""
    return torch.cumprod(1 - betas.double(), dim=0)


def respaced_timesteps(num_timesteps: int, steps: int) -> torch.Tensor:
    """``steps`` timesteps of a ``num_timesteps`` chain, evenly spaced from 0 to T−1 (ascending).

    ``steps == num_timesteps`` gives every timestep 0..T−1 (the full chain).
    """
    if not 1 <= steps <= num_timesteps:
        raise ValueError(f"steps must be in [1, {num_timesteps}], found {steps}")
    if steps == 1:
        return torch.tensor([num_timesteps - 1])
    return torch.linspace(0, num_timesteps - 1, steps, dtype=torch.float64).round().long()


def karras_sigmas(num_points: int, sigma_min: float = 0.002, sigma_max: float = 80.0,
                  rho: float = 7.0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """EDM Eq. 5: ``num_points`` noise levels from σ_max (index 0) down to σ_min (index N−1)."""
    if num_points < 2:
        raise ValueError(f"a Karras grid needs at least 2 points, found {num_points}")
    i = torch.arange(num_points, dtype=dtype)
    low, high = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return (high + i / (num_points - 1) * (low - high)) ** rho


def edm_preconditioning(sigma: torch.Tensor, sigma_data: float = 0.5):
    """EDM Table 1: (c_skip, c_out, c_in, c_noise) at noise level σ.

    c_skip = σ_d²/(σ² + σ_d²), c_out = σ·σ_d/√(σ² + σ_d²), c_in = 1/√(σ² + σ_d²), c_noise = ln(σ)/4.
    """
    sigma = torch.as_tensor(sigma)
    total = sigma ** 2 + sigma_data ** 2
    return (sigma_data ** 2 / total, sigma * sigma_data / total.sqrt(), 1 / total.sqrt(),
            sigma.log() / 4)


def consistency_preconditioning(sigma: torch.Tensor, sigma_data: float = 0.5,
                                sigma_min: float = 0.002):
    """Consistency-model boundary-respecting coefficients (Song et al. 2023, App. C):

    c_skip = σ_d²/((σ − σ_min)² + σ_d²), c_out = (σ − σ_min)·σ_d/√(σ² + σ_d²),
    c_in = 1/√(σ² + σ_d²). At σ = σ_min: c_skip = 1, c_out = 0, so f(x, σ_min) = x.
    """
    sigma = torch.as_tensor(sigma)
    c_skip = sigma_data ** 2 / ((sigma - sigma_min) ** 2 + sigma_data ** 2)
    c_out = (sigma - sigma_min) * sigma_data / (sigma ** 2 + sigma_data ** 2).sqrt()
    c_in = 1 / (sigma ** 2 + sigma_data ** 2).sqrt()
    return c_skip, c_out, c_in
