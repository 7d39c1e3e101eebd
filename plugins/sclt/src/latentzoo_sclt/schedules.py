"""iCT discretisation curriculum, lognormal index sampling and sLCT's adaptive robustness scale c.

References: iCT, Song & Dhariwal 2023 (arXiv 2310.14189), Sec. 3.3-3.5; sLCT, Dao et al. 2025
(arXiv 2502.01441), Sec. 4 (adaptive c); official code quandao10/LCT ``karras_diffusion.py``.

- Curriculum (iCT Eq. 8 / "exponential" schedule): K′ = ⌊K/(log2⌊s1/s0⌋ + 1)⌋,
  N(k) = min(s0·2^⌊k/K′⌋, s1) + 1 grid points (N − 1 discretisation steps).
- Grid (EDM Eq. 5): σ_i = (σ_max^{1/ρ} + i/(N−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, i = 0..N−1, so
  index 0 is σ_max; from :func:`latentzoo_diffusion.schedules.karras_sigmas`.
- Index sampling (iCT Eq. 9): i ∈ {0..N−2}, p_i ∝ erf((ln σ_i − P_m)/(√2 P_s)) −
  erf((ln σ_{i+1} − P_m)/(√2 P_s)), P_m = −1.1, P_s = 2.0.
- Adaptive c (sLCT): c = exp(−1.15·ln(N−1) − 0.85) for N − 1 > s0; in the first stage
  (N − 1 = s0) the official code keeps its initial c = 0.00054·√D ("official"), or the formula
  value c(s0) ("formula", our option for small D where 0.00054·√D breaks the monotone decay).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from latentzoo_diffusion.schedules import karras_sigmas

__all__ = ["stage_length", "num_points", "sigma_grid", "index_probabilities", "adaptive_c",
           "ict_c", "fit_c_schedule"]


def stage_length(total_steps: int, s0: int, s1: int) -> int:
    """K′ = ⌊K/(log2⌊s1/s0⌋ + 1)⌋ (the log2 is not floored, as in the official code)."""
    if s1 < s0 or s0 < 1:
        raise ValueError(f"need 1 <= s0 <= s1, found s0 = {s0}, s1 = {s1}")
    return max(1, math.floor(total_steps / (math.log2(math.floor(s1 / s0)) + 1)))


def num_points(step: int, total_steps: int, s0: int = 10, s1: int = 1280) -> int:
    """N(k) = min(s0·2^⌊k/K′⌋, s1) + 1: grid points at training step k."""
    doublings = step // stage_length(total_steps, s0, s1)
    return min(s0 * 2 ** min(doublings, 62), s1) + 1


def sigma_grid(points: int, sigma_min: float = 0.002, sigma_max: float = 80.0,
               rho: float = 7.0) -> torch.Tensor:
    """The N-point Karras grid, σ_0 = σ_max down to σ_{N−1} = σ_min, in float32."""
    return karras_sigmas(points, sigma_min, sigma_max, rho).float()


def index_probabilities(sigmas: torch.Tensor, p_mean: float = -1.1, p_std: float = 2.0) -> torch.Tensor:
    """p_i for i = 0..N−2: lognormal mass of ln σ between σ_{i+1} and σ_i, normalised."""
    log_sigma = sigmas.double().log()
    cdf = torch.erf((log_sigma - p_mean) / (math.sqrt(2) * p_std))
    weights = cdf[:-1] - cdf[1:]
    return (weights / weights.sum()).float()


def adaptive_c(points: int, s0: int = 10, dim: int = 16, first_stage: str = "official",
               slope: float = -1.15, intercept: float = -0.85) -> float:
    """sLCT's c for a grid of ``points`` = N points (N − 1 steps) in a D-dimensional latent."""
    steps = points - 1
    if steps <= s0:
        if first_stage == "official":
            return ict_c(dim)
        if first_stage != "formula":
            raise ValueError(f"first_stage must be 'official' or 'formula', found {first_stage!r}")
        steps = s0
    return math.exp(slope * math.log(steps) + intercept)


def ict_c(dim: int) -> float:
    """iCT's Pseudo-Huber constant c = 0.00054·√D."""
    return 0.00054 * math.sqrt(dim)


def fit_c_schedule(steps: np.ndarray, residual_std: np.ndarray) -> tuple[float, float]:
    """Refit the c schedule: least squares of ln(std) on ln(N − 1); returns (slope, intercept).

    ``steps`` are values of N − 1 and ``residual_std`` the standard deviation of the squared
    temporal-difference residual measured at each (sLCT Sec. 4.3, Fig. 4).
    """
    steps, residual_std = np.asarray(steps, float), np.asarray(residual_std, float)
    if len(steps) < 2 or (steps <= 0).any() or (residual_std <= 0).any():
        raise ValueError("fit_c_schedule needs >= 2 positive (steps, std) pairs")
    slope, intercept = np.polyfit(np.log(steps), np.log(residual_std), 1)
    return float(slope), float(intercept)
