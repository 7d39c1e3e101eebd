"""On-manifold latent attack and the pixel-space PGD baseline (OMAT, arXiv 2506.00874).

The generator G(z) is a deterministic DDIM chain (η = 0) of a frozen ε-prediction denoiser,
run with gradients (the analogue of the paper's "SD forward with grad"): with the respaced
timesteps τ_{S−1} > … > τ_0 and ᾱ' the next ᾱ (1 after the last step), each step is
DDIM Eq. 12 (Song et al. 2021, arXiv 2010.02502) with σ = 0:

    x̂_0 = (x − √(1 − ᾱ)·ε_θ(x, τ))/√ᾱ,   x' = √ᾱ'·x̂_0 + √(1 − ᾱ')·ε_θ(x, τ),

computed by ``latentzoo_diffusion.samplers.ddim_step``. Every image then goes through the same
clip-and-quantise pipeline as the real digits (17 grey levels in [−1, 1]); inside the attack the
quantiser is passed straight through (forward: quantised image; backward: identity), so the
detector is attacked on exactly the image that would be stored.

Latent attack (paper Sec. 3, "latent prior bias"): keep the sampler (and, in the paper, the
prompt) fixed and optimise only the initial noise z_T:

    min_z ℓ(z) = BCE(D(G(z)), y = 0)        (y = 0: "real"),

with Adam (lr 0.05, ≤ 30 steps), stopping per sample as soon as p_fake = σ(D(G(z))) < 0.5 (the
official code keeps images once the detector score falls below 50%), and re-projecting after
every step ‖z‖ ← √d so that z stays on the typical shell of N(0, I).

Pixel PGD (the off-manifold contrast, Madry et al. 2018): L∞ PGD on the image G(z_0),
x ← Π_{‖x − x_0‖∞ ≤ ε, x ∈ [−1, 1]}(x − α·sign ∇_x BCE(D(x), 0)), ε = 0.125, α = ε/4, 10 steps.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable

import attrs
import torch
import torch.nn.functional as F
from latentzoo.config import option
from latentzoo_diffusion.samplers import ddim_step
from latentzoo_diffusion.schedules import alphas_cumprod, make_betas, respaced_timesteps
from torch import nn

__all__ = ["quantise", "quantise_straight_through", "ddim_generate", "GeneratorConfig",
           "Generator", "project_to_sphere", "latent_attack", "pixel_pgd", "AttackResult",
           "eval_mode"]

LEVELS = 16  # sklearn digits are integers 0..16: 17 grey levels


def quantise(x: torch.Tensor) -> torch.Tensor:
    """Clip to [−1, 1] and round to the 17 levels v/8 − 1, v = 0..16, of the real digits."""
    return torch.round((x.clamp(-1, 1) + 1) * (LEVELS / 2)) / (LEVELS / 2) - 1


def quantise_straight_through(x: torch.Tensor) -> torch.Tensor:
    """Forward: :func:`quantise`; backward: identity (straight-through estimator)."""
    return x + (quantise(x) - x).detach()


def ddim_generate(model: nn.Module, z: torch.Tensor, alpha_bar: torch.Tensor,
                  timesteps: torch.Tensor, clip: float | None = 1.0) -> torch.Tensor:
    """Deterministic DDIM (η = 0) from z = x_T over ascending ``timesteps``; differentiable in z."""
    order = timesteps.flip(0)
    x = z
    for i, t in enumerate(order):
        prev = alpha_bar[order[i + 1]] if i + 1 < len(order) else torch.tensor(1.0, dtype=torch.float64)
        eps = model(x, torch.full((len(x),), float(t), device=x.device))
        x = ddim_step(x, eps, alpha_bar[t], prev, eta=0.0, clip=clip)
    return x


@attrs.define(frozen=True, slots=False)
class GeneratorConfig:
    """How the frozen generator is sampled (shared by the data, sampler and metric configs)."""

    generator: str = option("generator", "artifact / stage name of the frozen ε-prediction denoiser")
    timesteps: int = option(100, "length T of the generator's training chain", gt=1)
    schedule: str = option("linear", "β schedule the generator was trained with", choices=("linear", "cosine"))
    sampling_steps: int = option(10, "DDIM steps (η = 0) of G(z)", gt=0)
    clip: float = option(1.0, "clip x̂_0 to [-clip, clip] inside DDIM (0: off)", ge=0)


class Generator:
    """G(z) = quantise(DDIM_η=0(model, z)): callable, deterministic, differentiable (straight-through)."""

    def __init__(self, model: nn.Module, config: GeneratorConfig):
        if config.sampling_steps > config.timesteps:
            raise ValueError(f"sampling_steps = {config.sampling_steps} exceeds timesteps = {config.timesteps}")
        self.model = model
        self.alpha_bar = alphas_cumprod(make_betas(config.schedule, config.timesteps))
        self.timesteps = respaced_timesteps(config.timesteps, config.sampling_steps)
        self.clip = config.clip or None
        for p in model.parameters():
            p.requires_grad_(False)  # frozen: gradients flow to z only

    def raw(self, z: torch.Tensor) -> torch.Tensor:
        return ddim_generate(self.model, z, self.alpha_bar, self.timesteps, self.clip)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return quantise_straight_through(self.raw(z))


@contextlib.contextmanager
def eval_mode(*modules: nn.Module):
    """BatchNorm / dropout off while attacking; the previous modes are restored after."""
    modes = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(modules, modes, strict=True):
            m.train(mode)


def project_to_sphere(z: torch.Tensor) -> torch.Tensor:
    """z·√d/‖z‖ per sample (d = elements of one sample): the typical shell of N(0, I_d)."""
    flat = z.flatten(1)
    radius = math.sqrt(flat.shape[1])
    return (flat * (radius / flat.norm(dim=1, keepdim=True).clamp_min(1e-12))).view_as(z)


def _logit(detector: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return detector(x).reshape(len(x))


@attrs.define
class AttackResult:
    z: torch.Tensor          # final latents (z_0 where never moved)
    images: torch.Tensor     # G(z), quantised
    p_fake: torch.Tensor     # σ(D(G(z))) at the end
    success: torch.Tensor    # p_fake < threshold
    steps: torch.Tensor      # Adam steps taken per sample


def latent_attack(generate: Callable[[torch.Tensor], torch.Tensor], detector: nn.Module,
                  z0: torch.Tensor, lr: float = 0.05, max_steps: int = 30,
                  threshold: float = 0.5, project: bool = True) -> AttackResult:
    """Minimise BCE(D(G(z)), 0) over z with Adam, per sample early stop at p_fake < threshold.

    The loss is summed over the active samples, so each sample's gradient (and, Adam being
    elementwise, its update) does not depend on the others; stopped samples are held fixed.
    """
    z = z0.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=lr)
    steps = torch.zeros(len(z0), dtype=torch.long, device=z0.device)
    with eval_mode(detector):
        for _ in range(max_steps):
            logit = _logit(detector, generate(z))
            active = torch.sigmoid(logit.detach()) >= threshold
            if not bool(active.any()):
                break
            loss = F.binary_cross_entropy_with_logits(logit[active], torch.zeros_like(logit[active]),
                                                      reduction="sum")
            # gradient w.r.t. z only: no .grad accumulates in the detector's or G's parameters
            (z.grad,) = torch.autograd.grad(loss, z)
            before = z.detach().clone()
            optimizer.step()
            with torch.no_grad():
                moved = project_to_sphere(z) if project else z.clone()
                mask = active.view(-1, *([1] * (z.dim() - 1)))
                z.copy_(torch.where(mask, moved, before))
            steps += active.long()
        with torch.no_grad():
            images = generate(z)
            p_fake = torch.sigmoid(_logit(detector, images))
    return AttackResult(z.detach(), images.detach(), p_fake, p_fake < threshold, steps)


def pixel_pgd(detector: nn.Module, x0: torch.Tensor, epsilon: float = 0.125, steps: int = 10,
              step_size: float | None = None) -> torch.Tensor:
    """L∞ PGD towards "real" around x0 (Madry et al. 2018); returns the unquantised image."""
    alpha = epsilon / 4 if step_size is None else step_size
    x0 = x0.detach()
    x = x0.clone()
    with eval_mode(detector):
        for _ in range(steps):
            x.requires_grad_(True)
            logit = _logit(detector, x)
            loss = F.binary_cross_entropy_with_logits(logit, torch.zeros_like(logit), reduction="sum")
            (grad,) = torch.autograd.grad(loss, x)
            with torch.no_grad():
                x = x - alpha * grad.sign()
                x = torch.minimum(torch.maximum(x, x0 - epsilon), x0 + epsilon).clamp(-1, 1)
    return x.detach()
