"""DiffuseVAE generation: z ~ p(z), x̂ = 2·Dec(z) − 1, then a DDPM or DDIM refiner on a spaced chain.

Pandey et al. 2022 (arXiv 2201.00308), Sec. 3.2 (Algorithm 2) and Sec. 4.2 (fewer steps);
official ``DDPMWrapper.predict_step`` and ``spaced_diff*.py``:

- prior: z ~ N(0, I) or the ex-post GMM fitted on training encoder means (Sec. 4.3), or, as a
  diagnostic, posterior draws z ~ q(z | x) of training digits;
- start: Form 1 and the unconditional baseline at temp·ε; Form 2 at x̂ + temp·ε;
- every step draws a normal sample (also DDIM at η = 0, like ``ddim_sample``, so the RNG stream
  matches), calls ε_θ([y ‖ x̂], τ_k) with the *original* timestep τ_k, and updates with
  :class:`~latentzoo_diffusevae.diffusion.SpacedChain` (DDPM: clipped-x̃_0 posterior mean,
  "fixedlarge" variance; DDIM: Eq. 12);
- classifier-free guidance (``guidance = w``): ε̂ = (1 + w)·ε_θ(x, x̂, z) − w·ε_θ(x, 0, 0);
- Form 2 subtracts x̂ after the last step; the result is mapped back to [0, 1].

``cond_noise`` adds N(0, cond_noise²) to x̂ (the paper's robustness test, Sec. 4.4). Each sampler
puts itself in the stage's artifacts as ``"sampler"`` (``latentzoo_diffusion``'s
``register_sampler``), so ``diffusion.sampling_cost`` times it and
``diffusevae.label_agreement`` refines the same x̂ twice.
"""

from __future__ import annotations

import abc

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError
from latentzoo_diffusion.samplers import register_sampler
from torch import nn

from latentzoo_diffusevae.diffusion import SpacedChain, space_timesteps
from latentzoo_diffusevae.vae import GaussianMixturePrior

__all__ = ["PriorConfig", "DDPMConfig", "DDIMConfig", "DiffuseVAESampler", "DDPMSampler",
           "DDIMSampler", "VAESamplerConfig", "VAESampler", "LatentPrior"]


def randn(shape, device, generator: torch.Generator | None = None) -> torch.Tensor:
    """N(0, I) on ``device``; from ``generator`` (CPU) when given, else the global RNG."""
    if generator is None:
        return torch.randn(*shape, device=device)
    return torch.randn(*shape, generator=generator).to(device)


class LatentPrior:
    """z ~ N(0, I), the ex-post GMM on encoder means (fitted once, at build), or "posterior":
    z ~ q(z | x) of random training examples (a diagnostic close to the official ``eval_mode =
    "recons"``: it shows the refiner on the x̂ it was trained on, without the prior hole)."""

    def __init__(self, kind: str, vae: nn.Module, ctx, components: int, who: str):
        self.kind = kind
        self.vae = vae
        self.latent_dim = int(getattr(vae, "latent_dim", 0) or 0)
        if not self.latent_dim:
            raise UserError(f"{who}: the VAE artifact has no latent_dim")
        self.mixture = self.train_x = None
        if kind in ("gmm", "posterior"):
            splits = getattr(ctx, "splits", None)
            if splits is None or "train" not in splits.splits:
                raise UserError(f"{who}: prior = '{kind}' uses the training split's encoder outputs: "
                                "give the generate stage data with a 'train' split")
            self.train_x = splits.split("train")["x"]
        if kind == "gmm":
            self.mixture = GaussianMixturePrior(vae, self.train_x, components, ctx.seed)

    def sample(self, num: int, device, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.mixture is not None:
            return self.mixture.sample(num, generator).to(device)
        if self.kind == "posterior":
            index = torch.randint(0, len(self.train_x), (num,), generator=generator)
            mu, logvar = self.vae.encode(self.train_x[index].to(device))
            return mu + torch.exp(0.5 * logvar) * randn(mu.shape, device, generator)
        return randn((num, self.latent_dim), device, generator)


@attrs.define(frozen=True, slots=False)
class PriorConfig:
    """Fields shared by every DiffuseVAE sampler."""

    prior: str = option("normal", "z ~ N(0, I), the ex-post GMM fitted on training encoder means, or "
                        "posterior draws q(z|x) of training digits (diagnostic)",
                        choices=("normal", "gmm", "posterior"))
    gmm_components: int = option(10, "components of the GMM prior (50-150 in the paper's runs)", gt=0)
    vae: str = option("vae", "artifact key of the VAE (the generate stage's inputs)")


@attrs.define(frozen=True, slots=False)
class ChainConfig(PriorConfig):
    steps: int = option(10, "network evaluations n (timesteps kept from the T-chain)", gt=0)
    spacing: str = option("quad", "which timesteps: uniform (integer stride) or quad (official, up to 0.8T)",
                          choices=("uniform", "quad"))
    timesteps: int = option(1000, "length T of the training chain", gt=1)
    beta_start: float = option(1e-4, "β_1 of the linear schedule", gt=0, lt=1)
    beta_end: float = option(0.02, "β_T of the linear schedule", gt=0, lt=1)
    temperature: float = option(1.0, "scale of the starting noise", ge=0)
    guidance: float = option(0.0, "classifier-free guidance weight w (needs a cfd_rate > 0 model)", ge=0)
    cond_noise: float = option(0.0, "std of Gaussian noise added to x̂ (robustness test)", ge=0)
    clip: bool = option(True, "clip x̃_0 to [-1, 1] at every step")


@attrs.frozen
class DDPMConfig(ChainConfig):
    spacing: str = option("uniform", "which timesteps: uniform (integer stride) or quad (up to 0.8T)",
                          choices=("uniform", "quad"))
    steps: int = option(1000, "network evaluations n (timesteps kept from the T-chain)", gt=0)
    variance: str = option("fixedlarge", "β' (fixedlarge, β'_0 := β̃'_1) or β̃' (fixedsmall)",
                           choices=("fixedlarge", "fixedsmall"))


@attrs.frozen
class DDIMConfig(ChainConfig):
    eta: float = option(0.0, "η of DDIM Eq. 16 (0: deterministic)", ge=0, le=1)


class DiffuseVAESampler(abc.ABC):
    """Shared part of the DDPM and DDIM refiners: prior, condition, chain, guidance."""

    name = "diffusevae.sampler"

    def __init__(self, config: ChainConfig, ctx):
        self.config = config
        if config.beta_end < config.beta_start:
            raise UserError(f"beta_end = {config.beta_end} is below beta_start = {config.beta_start}")
        try:
            timesteps = space_timesteps(config.timesteps, config.steps, config.spacing)
        except ValueError as error:
            raise UserError(f"steps = {config.steps}: {error}") from None
        self.chain = SpacedChain(timesteps, config.timesteps, config.beta_start, config.beta_end)
        self.nfe = len(self.chain) * (2 if config.guidance > 0 else 1)  # per sample
        artifacts = getattr(ctx, "artifacts", None) or {}
        model = artifacts.get("model")
        form = getattr(model, "form", None)
        if model is not None and form is None:
            raise UserError(f"{self.name} refines with a diffusevae.cond_denoiser; the stage's model "
                            f"({type(model).__name__}) has no 'form'")
        self.vae = artifacts.get(config.vae)
        self.prior = None
        if self.vae is not None:
            self.prior = LatentPrior(config.prior, self.vae, ctx, config.gmm_components, self.name)
        elif form in ("form1", "form2"):
            raise UserError(f"{self.name}: the model is a {form} DiffuseVAE denoiser and needs the VAE: "
                            f"give the generate stage inputs = {{ {config.vae} = \"<VAE stage>\" }}")
        register_sampler(ctx, self)

    # -- the pieces ------------------------------------------------------------------------------
    def draw_condition(self, model: nn.Module, num: int, generator: torch.Generator | None = None):
        """(x̂, z) for ``num`` samples (x̂ = 2·Dec(z) − 1 plus cond_noise), or (None, None) unconditionally."""
        if model.form == "none":
            return None, None
        if self.vae is None:
            raise UserError(f"{self.name}: a {model.form} model needs the VAE artifact '{self.config.vae}'")
        device = next(model.parameters()).device
        z = self.prior.sample(num, device, generator)
        x_hat = 2 * self.vae.decode(z).reshape(num, *model.input_shape) - 1
        if self.config.cond_noise > 0:
            x_hat = x_hat + self.config.cond_noise * randn(x_hat.shape, device, generator)
        return x_hat, z

    def epsilon(self, model, x, t, x_hat, z) -> torch.Tensor:
        z = z if getattr(model, "z_dim", 0) else None
        eps = model(x, t, x_hat, z)
        w = self.config.guidance
        if w > 0 and x_hat is not None:
            eps = (1 + w) * eps - w * model(x, t, torch.zeros_like(x_hat),
                                             None if z is None else torch.zeros_like(z))
        return eps

    @abc.abstractmethod
    def step(self, y, eps, k, noise) -> torch.Tensor:
        """Implemented by each subclass."""

    @torch.no_grad()
    def refine(self, model: nn.Module, x_hat: torch.Tensor | None, z: torch.Tensor | None, num: int,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Run the reverse chain from the start noise; samples in [−1, 1] (Form 2: x̂ removed)."""
        device = next(model.parameters()).device
        shape = (num, *model.input_shape)
        x = self.config.temperature * randn(shape, device, generator)
        form2 = model.form == "form2"
        if form2:
            x = x_hat + x  # s_T = x̂ + temp·ε
        y = x
        for k in reversed(range(len(self.chain))):
            noise = randn(shape, device, generator)  # drawn at every step, as the official loops do
            t = torch.full((num,), float(self.chain.timesteps[k]), device=device)
            eps = self.epsilon(model, x, t, x_hat, z)
            y = self.step(x - x_hat if form2 else x, eps, k, noise)
            x = y + x_hat if form2 else y
        return y  # Form 2: the last step's x̂ is subtracted

    @torch.no_grad()
    def sample(self, model: nn.Module, num: int) -> torch.Tensor:
        x_hat, z = self.draw_condition(model, num)
        return (self.refine(model, x_hat, z, num) + 1) / 2


class DDPMSampler(DiffuseVAESampler):
    """Ancestral DDPM refiner (``spaced_diff*.py``): clipped-x̃_0 posterior mean, fixedlarge variance."""

    name = "diffusevae.ddpm"

    def step(self, y, eps, k, noise):
        return self.chain.ddpm_step(y, eps, k, noise, self.config.variance, self.config.clip)


class DDIMSampler(DiffuseVAESampler):
    """DDIM refiner (η = 0 by default), ``ddim_sample`` of ``spaced_diff*.py``."""

    name = "diffusevae.ddim"

    def step(self, y, eps, k, noise):
        return self.chain.ddim_step(y, eps, k, self.config.eta, noise, self.config.clip)


@attrs.frozen
class VAESamplerConfig(PriorConfig):
    vae: str = option("", "artifact key of the VAE ('' : the stage's model is the VAE)")


class VAESampler:
    """The VAE alone (the stage-1 baseline): Dec(z), z from the N(0, I) or GMM prior; no refiner."""

    name = "diffusevae.vae_sampler"

    def __init__(self, config: VAESamplerConfig, ctx):
        artifacts = getattr(ctx, "artifacts", None) or {}
        self.vae = artifacts.get(config.vae or "model")
        if self.vae is None or not callable(getattr(self.vae, "decode", None)):
            raise UserError(f"{self.name}: no VAE: make the generate stage's model a diffusevae.vae "
                            "stage (or name one with vae = '<artifact key>')")
        self.prior = LatentPrior(config.prior, self.vae, ctx, config.gmm_components, self.name)
        self.nfe = 0  # denoiser evaluations
        register_sampler(ctx, self)

    @torch.no_grad()
    def sample(self, model: nn.Module, num: int) -> torch.Tensor:
        device = next(self.vae.parameters()).device
        return self.vae.decode(self.prior.sample(num, device))
