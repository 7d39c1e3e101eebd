"""DDPM ancestral and DDIM samplers over a respaced chain of ``steps`` timesteps.

For the ascending timesteps τ_0 < … < τ_{S−1} (:func:`respaced_timesteps`), write ᾱ = ᾱ_{τ_i},
ᾱ' = ᾱ_{τ_{i−1}} (ᾱ' = 1 after the last step) and ε = ε_θ(x, τ_i). Going from τ_{S−1} down:

- DDIM (Song et al. 2021, arXiv 2010.02502, Eq. 12):
  x̂_0 = (x − √(1 − ᾱ)·ε)/√ᾱ,
  σ = η·√((1 − ᾱ')/(1 − ᾱ))·√(1 − ᾱ/ᾱ'),
  x' = √ᾱ'·x̂_0 + √(1 − ᾱ' − σ²)·ε + σ·z.
  η = 0 is deterministic; η = 1 is DDPM's ancestral step with the posterior variance.
- DDPM ancestral (Ho et al. 2020, Algorithm 2, with Improved-DDPM respacing β' = 1 − ᾱ/ᾱ'):
  x' = (x − β'/√(1 − ᾱ)·ε)/√(1 − β') + σ·z, σ² = β'·(1 − ᾱ')/(1 − ᾱ) ("posterior", β̃) or β'
  ("beta"); no noise is added at the last step.

``sample(model, num)`` starts from x ~ N(0, I) shaped like the data's inputs (or ``shape``),
runs the chain with ``model(x, τ)``, and, where ``decode_with`` names an artifact of the stage
(``inputs = { decoder = "autoencoder" }``), returns ``artifact.decode(x)``: latent diffusion.
Each sampler also puts itself in the stage's artifacts as ``"sampler"`` so that
``diffusion.sampling_cost`` can time it.
"""

from __future__ import annotations

import abc

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError
from torch import nn

from latentzoo_diffusion.schedules import alphas_cumprod, make_betas, respaced_timesteps

__all__ = ["ddim_step", "ddpm_step", "DDIMConfig", "DDPMConfig", "DDIMSampler", "DDPMSampler",
           "ChainSampler", "register_sampler"]


def ddim_step(x: torch.Tensor, eps: torch.Tensor, alpha_bar: float | torch.Tensor,
              alpha_bar_prev: float | torch.Tensor, eta: float = 0.0,
              noise: torch.Tensor | None = None, clip: float | None = None) -> torch.Tensor:
    """One DDIM update (Eq. 12) from ᾱ to ᾱ' (``alpha_bar_prev``); ``noise`` is z when η > 0."""
    alpha_bar = torch.as_tensor(alpha_bar, dtype=torch.float64)
    alpha_bar_prev = torch.as_tensor(alpha_bar_prev, dtype=torch.float64)
    x0 = (x - (1 - alpha_bar).sqrt().to(x) * eps) / alpha_bar.sqrt().to(x)
    if clip is not None:
        x0 = x0.clamp(-clip, clip)
    sigma = eta * ((1 - alpha_bar_prev) / (1 - alpha_bar)).sqrt() * (1 - alpha_bar / alpha_bar_prev).sqrt()
    direction = (1 - alpha_bar_prev - sigma ** 2).clamp(min=0).sqrt()
    out = alpha_bar_prev.sqrt().to(x) * x0 + direction.to(x) * eps
    if eta > 0 and noise is not None:
        out = out + sigma.to(x) * noise
    return out


def ddpm_step(x: torch.Tensor, eps: torch.Tensor, alpha_bar: float | torch.Tensor,
              alpha_bar_prev: float | torch.Tensor, noise: torch.Tensor | None = None,
              variance: str = "posterior") -> torch.Tensor:
    """One ancestral DDPM update (Algorithm 2) with β' = 1 − ᾱ/ᾱ'; no noise when ``noise`` is None."""
    alpha_bar = torch.as_tensor(alpha_bar, dtype=torch.float64)
    alpha_bar_prev = torch.as_tensor(alpha_bar_prev, dtype=torch.float64)
    beta = 1 - alpha_bar / alpha_bar_prev
    mean = (x - (beta / (1 - alpha_bar).sqrt()).to(x) * eps) / (1 - beta).sqrt().to(x)
    if noise is None:
        return mean
    var = beta * (1 - alpha_bar_prev) / (1 - alpha_bar) if variance == "posterior" else beta
    return mean + var.sqrt().to(x) * noise


def register_sampler(ctx, sampler) -> None:
    """Make ``sampler`` visible to metrics of the same generate stage (``artifacts['sampler']``)."""
    if ctx is not None and isinstance(getattr(ctx, "artifacts", None), dict):
        ctx.artifacts["sampler"] = sampler


def resolve_shape(shape: tuple[int, ...], decode_with: str, ctx, who: str) -> tuple[int, ...]:
    """Shape of one sample: ``shape`` if set, else the decoder's ``latent_dim``, else the data's."""
    if shape:
        return tuple(shape)
    if decode_with:
        decoder = (ctx.artifacts if ctx is not None else {}).get(decode_with)
        latent = getattr(decoder, "latent_dim", None)
        if latent:
            return (int(latent),)
        raise UserError(f"{who}: the artifact '{decode_with}' has no latent_dim; set shape")
    if ctx is not None and ctx.data is not None:
        return tuple(ctx.data.input_shape)
    raise UserError(f"{who}: cannot tell the sample shape: the stage has no data; set shape")


class ChainSampler(abc.ABC):
    """Shared part of DDPM and DDIM: schedule, respaced timesteps, optional decoder."""

    name = "diffusion.chain"

    def __init__(self, config, ctx):
        self.steps = config.steps
        self.shape = resolve_shape(config.shape, config.decode_with, ctx, self.name)
        self.decoder = None
        if config.decode_with:
            if ctx is None or config.decode_with not in ctx.artifacts:
                available = ", ".join(ctx.artifacts) if ctx is not None else "none"
                raise UserError(f"{self.name}: decode_with = '{config.decode_with}' is not an artifact "
                                f"of this stage (artifacts: {available}); add it to the stage's inputs")
            self.decoder = ctx.artifacts[config.decode_with]
            if not callable(getattr(self.decoder, "decode", None)):
                raise UserError(f"{self.name}: artifact '{config.decode_with}' has no decode(z) method")
        if config.steps > config.timesteps:
            raise UserError(f"{self.name}: steps = {config.steps} exceeds timesteps = {config.timesteps}")
        self.alpha_bar = alphas_cumprod(make_betas(config.schedule, config.timesteps))
        self.timesteps = respaced_timesteps(config.timesteps, config.steps)
        self.nfe = config.steps  # network evaluations per sample
        register_sampler(ctx, self)

    @abc.abstractmethod
    def update(self, x, eps, alpha_bar, alpha_bar_prev, last: bool) -> torch.Tensor:
        """Implemented by each subclass."""

    @torch.no_grad()
    def sample(self, model: nn.Module, num: int) -> torch.Tensor:
        device = next(model.parameters()).device
        x = torch.randn(num, *self.shape, device=device)
        order = self.timesteps.flip(0)
        for i, t in enumerate(order):
            alpha_bar = self.alpha_bar[t]
            alpha_bar_prev = self.alpha_bar[order[i + 1]] if i + 1 < len(order) else torch.tensor(1.0, dtype=torch.float64)
            eps = model(x, torch.full((num,), float(t), device=device))
            x = self.update(x, eps, alpha_bar, alpha_bar_prev, last=i + 1 == len(order))
        if self.decoder is not None:
            x = self.decoder.decode(x)
        return x


@attrs.frozen
class DDIMConfig:
    steps: int = option(50, "network evaluations: timesteps of the respaced chain", gt=0)
    timesteps: int = option(1000, "length T of the training chain", gt=1)
    schedule: str = option("linear", "β schedule the model was trained with", choices=("linear", "cosine"))
    eta: float = option(0.0, "η of Eq. 16 (0: deterministic DDIM, 1: DDPM-like)", ge=0, le=1)
    clip: float = option(0.0, "clip x̂_0 to [-clip, clip] (0: off)", ge=0)
    shape: tuple[int, ...] = option((), "shape of one sample (empty: decoder latent_dim or data shape)", gt=0)
    decode_with: str = option("", "artifact whose decode(z) maps samples to data space ('' : none)")


class DDIMSampler(ChainSampler):
    """DDIM over ``steps`` evenly spaced timesteps."""

    name = "diffusion.ddim"

    def __init__(self, config: DDIMConfig, ctx=None):
        super().__init__(config, ctx)
        self.eta = config.eta
        self.clip = config.clip or None

    def update(self, x, eps, alpha_bar, alpha_bar_prev, last):
        noise = torch.randn_like(x) if self.eta > 0 and not last else None
        return ddim_step(x, eps, alpha_bar, alpha_bar_prev, self.eta, noise, self.clip)


@attrs.frozen
class DDPMConfig:
    steps: int = option(1000, "network evaluations: timesteps of the respaced chain", gt=0)
    timesteps: int = option(1000, "length T of the training chain", gt=1)
    schedule: str = option("linear", "β schedule the model was trained with", choices=("linear", "cosine"))
    variance: str = option("posterior", "σ² = β̃ (posterior) or β", choices=("posterior", "beta"))
    shape: tuple[int, ...] = option((), "shape of one sample (empty: decoder latent_dim or data shape)", gt=0)
    decode_with: str = option("", "artifact whose decode(z) maps samples to data space ('' : none)")


class DDPMSampler(ChainSampler):
    """Ancestral DDPM sampling over ``steps`` evenly spaced timesteps (all T by default)."""

    name = "diffusion.ddpm"

    def __init__(self, config: DDPMConfig, ctx=None):
        super().__init__(config, ctx)
        self.variance = config.variance

    def update(self, x, eps, alpha_bar, alpha_bar_prev, last):
        noise = None if last else torch.randn_like(x)
        return ddpm_step(x, eps, alpha_bar, alpha_bar_prev, noise, self.variance)
