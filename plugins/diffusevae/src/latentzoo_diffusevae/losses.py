"""DiffuseVAE's denoiser loss: ε-prediction on the Form 1 / Form 2 forward process.

Pandey et al. 2022 (arXiv 2201.00308), Sec. 3.2 and Algorithm 1; official
``DDPMWrapper.training_step``:

1. x_0 = 2x − 1 (data in [0, 1] → DDPM range); under no grad, (μ, log σ²) = Enc(x) (the encoder
   sees x_0·0.5 + 0.5 = x), z = μ + σ·ε_z (a *sampled* posterior z), x̂ = 2·Dec(z) − 1;
2. with probability ``cfd_rate`` the condition (x̂, z) is zeroed (classifier-free guidance; the
   official code draws once per batch, ``cfd_mode = "sample"`` draws per example);
3. t ~ U{0..T−1}, ε ~ N(0, I), x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε (+ x̂ in Form 2);
4. L = mean over all elements of (ε − ε_θ([x_t ‖ x̂], t))² (``loss = "l2"``, the CIFAR-10
   config) or |ε − ε_θ| (``"l1"``, the wrapper's default).

The frozen VAE is the stage's artifact ``vae`` (``inputs = { vae = "<VAE stage>" }``); the form
is the model's (``diffusevae.cond_denoiser``'s ``form``); "none" trains the unconditional
baseline, which needs no VAE.
"""

from __future__ import annotations

import attrs
import torch
import torch.nn.functional as F
from latentzoo.config import option
from latentzoo.errors import UserError
from latentzoo_diffusion.schedules import alphas_cumprod, linear_betas
from torch import nn

from latentzoo_diffusevae.diffusion import forward_noise

__all__ = ["EpsLossConfig", "EpsLoss", "vae_condition"]


@torch.no_grad()
def vae_condition(vae: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(x̂, z): z ~ q(z | x) by reparameterisation, x̂ = 2·Dec(z) − 1; x in [0, 1]."""
    mu, logvar = vae.encode(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    return 2 * vae.decode(z).reshape(x.shape) - 1, z


@attrs.frozen
class EpsLossConfig:
    timesteps: int = option(1000, "length T of the diffusion chain", gt=1)
    beta_start: float = option(1e-4, "β_1 of the linear schedule", gt=0, lt=1)
    beta_end: float = option(0.02, "β_T of the linear schedule", gt=0, lt=1)
    loss: str = option("l2", "(ε − ε̂)² (l2, CIFAR-10 config) or |ε − ε̂| (l1, wrapper default)",
                       choices=("l2", "l1"))
    cfd_rate: float = option(0.0, "probability of zeroing the condition (x̂, z) for classifier-free guidance", ge=0, le=1)
    cfd_mode: str = option("batch", "draw the condition drop once per batch (official) or per example",
                           choices=("batch", "sample"))
    vae: str = option("vae", "artifact key of the frozen VAE (the stage's inputs)")
    key: str = option("x", "batch key of the data (in [0, 1])")


class EpsLoss(nn.Module):
    """``loss(model, batch)`` for a ``diffusevae.cond_denoiser`` of any form."""

    def __init__(self, config: EpsLossConfig, ctx=None):
        super().__init__()
        if config.beta_end < config.beta_start:
            raise UserError(f"beta_end = {config.beta_end} is below beta_start = {config.beta_start}")
        self.config = config
        artifacts = ctx.artifacts if ctx is not None else {}
        vae = artifacts.get(config.vae)
        if vae is not None:
            if not (callable(getattr(vae, "encode", None)) and callable(getattr(vae, "decode", None))):
                raise UserError(f"artifact '{config.vae}' has no encode/decode: give the stage "
                                f"inputs = {{ {config.vae} = \"<a diffusevae.vae stage>\" }}")
            vae.requires_grad_(False)  # frozen: stage 1 is done
        self.vae = vae
        betas = linear_betas(config.timesteps, config.beta_start, config.beta_end)
        self.register_buffer("alpha_bar", alphas_cumprod(betas).float(), persistent=False)

    def condition(self, model: nn.Module, x: torch.Tensor):
        """(x̂, z) for the batch, or (None, None) for the unconditional baseline."""
        form = getattr(model, "form", None)
        if form is None:
            raise UserError("diffusevae.eps_mse trains a diffusevae.cond_denoiser (the model has no 'form')")
        if form == "none":
            return None, None
        if self.vae is None:
            raise UserError(f"Form '{form}' conditions on the VAE: give the train stage "
                            f"inputs = {{ {self.config.vae} = \"<VAE stage>\" }} (or use form = 'none')")
        self.vae.eval()
        x_hat, z = vae_condition(self.vae, x)
        if self.config.cfd_rate > 0:
            if self.config.cfd_mode == "batch":
                keep = (torch.rand(1, device=x.device) >= self.config.cfd_rate).float().expand(len(x))
            else:
                keep = (torch.rand(len(x), device=x.device) >= self.config.cfd_rate).float()
            x_hat = x_hat * keep.reshape(-1, *([1] * (x.dim() - 1)))
            z = z * keep[:, None]
        return x_hat, z

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x = batch[self.config.key].float()
        x_hat, z = self.condition(model, x)
        x0 = 2 * x - 1
        t = torch.randint(0, self.config.timesteps, (len(x),), device=x.device)
        noise = batch["noise"] if "noise" in batch else torch.randn_like(x0)
        x_t = forward_noise(x0, noise, self.alpha_bar[t], "form2" if x_hat is not None and
                            model.form == "form2" else "form1", x_hat)
        eps = model(x_t, t.float(), x_hat, z if getattr(model, "z_dim", 0) else None)
        loss = F.mse_loss(eps, noise) if self.config.loss == "l2" else F.l1_loss(eps, noise)
        return {"loss": loss}
