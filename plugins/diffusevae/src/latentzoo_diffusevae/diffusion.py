"""DiffuseVAE's diffusion chain: schedule, step spacing, Form 1 / Form 2 forward and reverse steps.

Pandey et al., "DiffuseVAE: Efficient, Controllable and High-Fidelity Generation from
Low-Dimensional Latents", TMLR 2022, arXiv 2201.00308; conventions from the official code
(github.com/kpandey008/DiffuseVAE, ``main/models/diffusion/{ddpm,ddpm_form2,spaced_diff*}.py``,
``main/util.py:space_timesteps``).

All tensors live in the DDPM's [−1, 1] range; x̂ = 2·Dec(z) − 1 is the VAE condition.

- Schedule (DDPM, Ho et al. 2020): linear β_t from 1e-4 to 0.02, T = 1000, ᾱ_t = Π_{s≤t}(1 − β_s).
- Form 1 forward process (Sec. 3.2, Eq. 6): x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε; x̂ enters only the
  network, ε_θ([x_t ‖ x̂], t).
- Form 2 forward process (Sec. 3.2, Eq. 8, as coded in ``ddpm_form2.py``): s_t = √ᾱ_t·x_0 + x̂ +
  √(1 − ᾱ_t)·ε, i.e. a plain DDPM on y_t = s_t − x̂ whose network sees [s_t ‖ x̂].
- Reverse step on a spaced chain τ_0 < … < τ_{S−1} (Improved DDPM respacing): with ᾱ = ᾱ_{τ_k},
  ᾱ' = ᾱ_{τ_{k−1}} (ᾱ' = 1 at k = 0) and β' = 1 − ᾱ/ᾱ',
  x̃_0 = y/√ᾱ − √(1/ᾱ − 1)·ε̂ clipped to [−1, 1] (y = x_t in Form 1, y = s_t − x̂ in Form 2),
  DDPM posterior mean μ = c1·x̃_0 + c2·y with c1 = β'√ᾱ'/(1 − ᾱ), c2 = √(1 − β')(1 − ᾱ')/(1 − ᾱ)
  (Ho et al. Eq. 7), variance "fixedlarge" β' (β'_0 replaced by the posterior variance at
  index 1) or "fixedsmall" β̃ = β'(1 − ᾱ')/(1 − ᾱ); DDIM (Song et al. 2021, Eq. 12, η = 0 here):
  √ᾱ'·x̃_0 + √(1 − ᾱ' − σ²)·ε̂ + σ·z. Form 2 adds x̂ back after every step: its posterior mean
  c1·x̃_0 + c2·s_t + (1 − c2)·x̂ equals the Form-1 mean of s_t − x̂ plus x̂. The sampler subtracts
  x̂ after the last step (``ddpm_form2.py``: "we remove the vae reconstruction bias").
"""

from __future__ import annotations

import math

import numpy as np
import torch
from latentzoo_diffusion.samplers import ddim_step
from latentzoo_diffusion.schedules import alphas_cumprod, linear_betas

__all__ = ["FORMS", "space_timesteps", "forward_noise", "predict_x0", "SpacedChain"]

FORMS = ("form1", "form2", "none")  # "none": the unconditional baseline (x̂ set to 0)


def space_timesteps(num_timesteps: int, count: int, kind: str = "uniform") -> list[int]:
    """Timesteps kept from a ``num_timesteps`` chain (``main/util.py:space_timesteps``).

    - "uniform": range(0, T, stride) for the first integer stride giving exactly ``count`` steps;
      ValueError when none does.
    - "quad": int(linspace(0, √(0.8·T), count)²), raw (they may repeat for large ``count``;
      :class:`SpacedChain` keeps each once, as the official spaced model does).
    """
    if count < 1:
        raise ValueError(f"the number of steps must be >= 1, found {count}")
    if kind == "uniform":
        for stride in range(1, num_timesteps + 1):
            if len(range(0, num_timesteps, stride)) == count:
                return list(range(0, num_timesteps, stride))
        raise ValueError(f"cannot take exactly {count} of {num_timesteps} steps with an integer "
                         "stride ('uniform' spacing); choose a count such as 10, 20, 25, 50, 100 "
                         "or use spacing = 'quad'")
    if kind == "quad":
        return [int(s) for s in np.linspace(0, np.sqrt(num_timesteps * 0.8), count) ** 2]
    raise ValueError(f"unknown spacing '{kind}' (choose 'uniform' or 'quad')")


def _expand(value: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return value.reshape(-1, *([1] * (like.dim() - 1))).to(like)


def forward_noise(x0: torch.Tensor, noise: torch.Tensor, alpha_bar_t: torch.Tensor,
                  form: str, x_hat: torch.Tensor | None = None) -> torch.Tensor:
    """Form 1: x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε; Form 2: the same plus x̂ (s_t); per-example ᾱ_t."""
    a = _expand(alpha_bar_t, x0)
    x_t = a.sqrt() * x0 + (1 - a).sqrt() * noise
    if form == "form2":
        if x_hat is None:
            raise ValueError("Form 2 shifts the forward mean by x̂: pass x_hat")
        x_t = x_t + x_hat
    return x_t


def predict_x0(y: torch.Tensor, eps: torch.Tensor, alpha_bar: torch.Tensor | float) -> torch.Tensor:
    """x̃_0 = y/√ᾱ − √(1/ᾱ − 1)·ε (``_predict_xstart_from_eps``), not clipped."""
    alpha_bar = torch.as_tensor(alpha_bar, dtype=torch.float64)
    return (1 / alpha_bar).sqrt().to(y) * y - (1 / alpha_bar - 1).sqrt().to(y) * eps


class SpacedChain:
    """Coefficients of a linear-β chain respaced to ``timesteps`` (ascending, duplicates dropped).

    Attributes (index k = 0..S−1 of the spaced chain, float64):
        timesteps: τ_k, what the network receives as t.
        alpha_bar, alpha_bar_prev: ᾱ_{τ_k} and ᾱ_{τ_{k−1}} (1 at k = 0).
        betas: β'_k = 1 − ᾱ_{τ_k}/ᾱ_{τ_{k−1}}.
        coef_x0, coef_xt: c1, c2 of the posterior mean.
        posterior_variance: β̃'_k; variance_large: β'_k with k = 0 set to β̃'_1 ("fixedlarge").
    """

    def __init__(self, timesteps, num_timesteps: int = 1000, beta_start: float = 1e-4,
                 beta_end: float = 0.02):
        base = alphas_cumprod(linear_betas(num_timesteps, beta_start, beta_end))
        kept = sorted({int(t) for t in timesteps})
        if not kept or kept[0] < 0 or kept[-1] >= num_timesteps:
            raise ValueError(f"timesteps must lie in [0, {num_timesteps - 1}], found {kept[:1]}..{kept[-1:]}")
        self.timesteps = torch.tensor(kept)
        self.alpha_bar = base[self.timesteps]
        self.alpha_bar_prev = torch.cat([torch.ones(1, dtype=torch.float64), self.alpha_bar[:-1]])
        self.betas = 1 - self.alpha_bar / self.alpha_bar_prev
        self.coef_x0 = self.betas * self.alpha_bar_prev.sqrt() / (1 - self.alpha_bar)
        self.coef_xt = (1 - self.betas).sqrt() * (1 - self.alpha_bar_prev) / (1 - self.alpha_bar)
        self.posterior_variance = self.betas * (1 - self.alpha_bar_prev) / (1 - self.alpha_bar)
        self.variance_large = self.betas.clone()
        if len(kept) > 1:
            self.variance_large[0] = self.posterior_variance[1]

    def __len__(self) -> int:
        return len(self.timesteps)

    def x0(self, y: torch.Tensor, eps: torch.Tensor, k: int, clip: bool = True) -> torch.Tensor:
        x0 = predict_x0(y, eps, self.alpha_bar[k])
        return x0.clamp(-1.0, 1.0) if clip else x0

    def ddpm_step(self, y: torch.Tensor, eps: torch.Tensor, k: int, noise: torch.Tensor | None,
                  variance: str = "fixedlarge", clip: bool = True) -> torch.Tensor:
        """Ancestral step k → k−1 on y (Form 1: x_t; Form 2: s_t − x̂); no noise at k = 0."""
        x0 = self.x0(y, eps, k, clip)
        mean = self.coef_x0[k].to(y) * x0 + self.coef_xt[k].to(y) * y
        if k == 0 or noise is None:
            return mean
        var = self.variance_large[k] if variance == "fixedlarge" else self.posterior_variance[k]
        return mean + math.sqrt(float(var)) * noise

    def ddim_step(self, y: torch.Tensor, eps: torch.Tensor, k: int, eta: float = 0.0,
                  noise: torch.Tensor | None = None, clip: bool = True) -> torch.Tensor:
        """DDIM step k → k−1 on y (Eq. 12); at k = 0 (ᾱ' = 1) it returns the clipped x̃_0."""
        return ddim_step(y, eps, self.alpha_bar[k], self.alpha_bar_prev[k], eta,
                         noise if k > 0 else None, 1.0 if clip else None)
