"""One- and two-step consistency sampling, decoded by the stage-1 autoencoder.

Consistency models, Song et al. 2023 (arXiv 2303.01469), Algorithm 1; sLCT/LCT official
``karras_sample(..., sampler="multistep", ts=(0, 420, 640), steps=641)``:

  x ← f(σ_max·z, σ_max)   (one network call)
  for each next grid index t_j (j ≥ 1) of ``ts`` on the ``steps``-point Karras grid:
      x ← x + √(σ_{t_j}² − σ_min²)·z′;  x ← f(x, σ_{t_j})  unless σ_{t_j} = σ_min (the last entry,
      which adds zero noise and where f is the identity).

So ts = (0, 640) is the 1-step sampler and ts = (0, 420, 640) the 2-step one (σ_420 ≈ 0.529);
the last entry must be the grid's last index (σ_min), as the official sampler assumes, so a
sampler makes len(ts) − 1 network calls.
The latent samples are un-standardised and decoded: x = D(z/σ_d·std + mean), with the
statistics of the stage's training split (:class:`latentzoo_sclt.autoencoder.LatentCodec`).
"""

from __future__ import annotations

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError
from latentzoo_diffusion.samplers import register_sampler
from latentzoo_diffusion.schedules import karras_sigmas
from torch import nn

from latentzoo_sclt.autoencoder import LatentCodec

__all__ = ["OneStepConfig", "MultistepConfig", "ConsistencySampler", "consistency_sample",
           "onestep", "multistep"]


@torch.no_grad()
def consistency_sample(model: nn.Module, z: torch.Tensor, ts: tuple[int, ...], sigmas: torch.Tensor,
                       sigma_min: float, noises: list[torch.Tensor] | None = None) -> torch.Tensor:
    """Multistep consistency sampling from unit noise ``z`` over grid indices ``ts``."""
    x = model(sigmas[ts[0]] * z, sigmas[ts[0]].expand(len(z)))
    for j, t in enumerate(ts[1:]):
        sigma = sigmas[t]
        noise = noises[j] if noises is not None else torch.randn_like(x)
        x = x + (sigma ** 2 - sigma_min ** 2).clamp(min=0).sqrt() * noise
        if float(sigma) > sigma_min * (1 + 1e-6):
            x = model(x, sigma.expand(len(x)))
    return x


@attrs.frozen
class OneStepConfig:
    sigma_max: float = option(80.0, "σ_max (the start noise level)", gt=0)
    sigma_min: float = option(0.002, "σ_min", gt=0)
    rho: float = option(7.0, "ρ of the Karras grid", gt=0)
    sigma_data: float = option(0.5, "σ_d of the standardised latents", gt=0)
    autoencoder: str = option("autoencoder", "artifact key of the stage-1 autoencoder (decoder)")


@attrs.frozen
class MultistepConfig(OneStepConfig):
    ts: tuple[int, ...] = option((0, 420, 640), "indices into the steps-point grid; "
                                 "len(ts) − 1 network calls", ge=0)
    steps: int = option(641, "points of the Karras grid ts indexes", gt=1)


class ConsistencySampler:
    """``sample(model, num)``: decoded digits from a latent consistency model."""

    def __init__(self, config, ctx, ts: tuple[int, ...], steps: int):
        if len(ts) < 2 or list(ts) != sorted(set(ts)) or ts[-1] != steps - 1:
            raise UserError(f"ts must be strictly increasing grid indices ending at steps − 1 = {steps - 1} "
                            f"(σ_min, where no noise is added), with at least 2 entries; found {list(ts)}")
        artifacts = ctx.artifacts if ctx is not None else {}
        if config.autoencoder not in artifacts:
            raise UserError(f"the consistency sampler needs the autoencoder artifact "
                            f"'{config.autoencoder}': add inputs = {{ {config.autoencoder} = \"<stage>\" }} "
                            f"to the generate stage (artifacts: {', '.join(artifacts) or 'none'})")
        if ctx.splits is None:
            raise UserError("the consistency sampler needs the stage's data (its training split gives "
                            "the latent statistics): set data = { name = \"sclt.digits\" }")
        self.codec = LatentCodec(artifacts[config.autoencoder], ctx.splits.split("train")["x"],
                                 config.sigma_data)
        self.ts = tuple(ts)
        self.sigma_min = config.sigma_min
        self.sigmas = karras_sigmas(steps, config.sigma_min, config.sigma_max, config.rho).float()
        self.nfe = len(ts) - 1
        register_sampler(ctx, self)

    @torch.no_grad()
    def sample(self, model: nn.Module, num: int) -> torch.Tensor:
        device = next(model.parameters()).device
        z = torch.randn(num, self.codec.latent_dim, device=device)
        latents = consistency_sample(model, z, self.ts, self.sigmas.to(device), self.sigma_min)
        return self.codec.decode(latents)


def onestep(config: OneStepConfig, ctx) -> ConsistencySampler:
    """f(σ_max·z, σ_max): one network call."""
    return ConsistencySampler(config, ctx, (0, 1), 2)


def multistep(config: MultistepConfig, ctx) -> ConsistencySampler:
    return ConsistencySampler(config, ctx, config.ts, config.steps)
