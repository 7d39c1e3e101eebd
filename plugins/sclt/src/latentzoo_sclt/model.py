"""The latent consistency model f_θ(x, σ) with EDM/consistency preconditioning.

f(x, σ) = c_skip(σ)·x + c_out(σ)·F(c_in(σ)·x, 250·ln(σ + 1e-44)) with
c_skip = σ_d²/((σ − σ_min)² + σ_d²), c_out = (σ − σ_min)·σ_d/√(σ² + σ_d²), c_in = 1/√(σ² + σ_d²)
(Song et al. 2023, arXiv 2303.01469, App. C; sLCT/official LCT code), so f(x, σ_min) = x.
F is the residual-MLP with adaLN noise-level modulation of ``latentzoo-diffusion``; its
LayerNorms are affine ("layernorm", the iCT baseline) or non-scaling ("nonscaling", NsLN).

The model also carries :class:`TrainingStats` buffers that the loss fills (pair cost ‖x − n‖²,
per-step consistency loss): they travel with the weights (and into the EMA copy), so the train
stage's ``sclt.training_stats`` metric can report them.
"""

from __future__ import annotations

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError
from latentzoo_diffusion.models import ResidualDenoiser
from latentzoo_diffusion.schedules import consistency_preconditioning
from torch import nn

from latentzoo_sclt.layers import NonScalingLayerNorm

__all__ = ["ConsistencyConfig", "ConsistencyModel", "TrainingStats", "consistency_mlp"]


class TrainingStats(nn.Module):
    """Running sums: mean pair cost over all steps; mean/std of L_CT within the current grid size."""

    def __init__(self):
        super().__init__()
        for name in ("pair_cost_sum", "steps", "ct_count", "ct_mean", "ct_m2", "points"):
            self.register_buffer(name, torch.zeros((), dtype=torch.float64))

    @torch.no_grad()
    def record(self, pair_cost: float, ct_loss: float, points: int) -> None:
        self.pair_cost_sum += pair_cost
        self.steps += 1
        if int(self.points) != points:  # a new curriculum stage: restart the L_CT statistics
            self.points.fill_(points)
            self.ct_count.zero_()
            self.ct_mean.zero_()
            self.ct_m2.zero_()
        self.ct_count += 1  # Welford's update
        delta = ct_loss - self.ct_mean
        self.ct_mean += delta / self.ct_count
        self.ct_m2 += delta * (ct_loss - self.ct_mean)

    def summary(self) -> dict[str, float]:
        count = float(self.ct_count)
        std = (float(self.ct_m2) / (count - 1)) ** 0.5 if count > 1 else 0.0
        return {"pair_cost": float(self.pair_cost_sum) / max(1.0, float(self.steps)),
                "ct_loss_mean_last_stage": float(self.ct_mean),
                "ct_loss_std_last_stage": std,
                "final_points": float(self.points)}


@attrs.frozen
class ConsistencyConfig:
    width: int = option(256, "residual stream width", gt=0)
    depth: int = option(4, "adaLN residual blocks", gt=0)
    expansion: int = option(2, "block MLP hidden width = expansion x width", gt=0)
    time_dim: int = option(128, "noise-level embedding width", gt=1)
    norm: str = option("nonscaling", "LayerNorm kind: NsLN (sLCT) or affine (iCT baseline)",
                       choices=("nonscaling", "layernorm"))
    dropout: float = option(0.0, "dropout inside the blocks", ge=0, lt=1)
    sigma_data: float = option(0.5, "σ_d: std of the standardised latents", gt=0)
    sigma_min: float = option(0.002, "σ_min, where f(x, σ_min) = x", gt=0)
    latent_dim: int = option(0, "D; 0: the 'autoencoder' artifact's latent_dim", ge=0)
    autoencoder: str = option("autoencoder", "artifact key of the stage-1 autoencoder (for D)")


class ConsistencyModel(nn.Module):
    """f_θ(x, σ) for flat latents x (B x D) and per-example σ (B) or a scalar."""

    def __init__(self, latent_dim: int, width: int = 256, depth: int = 4, expansion: int = 2,
                 time_dim: int = 128, norm: str = "nonscaling", dropout: float = 0.0,
                 sigma_data: float = 0.5, sigma_min: float = 0.002):
        super().__init__()
        self.latent_dim = latent_dim
        self.sigma_data = sigma_data
        self.sigma_min = sigma_min
        layer = NonScalingLayerNorm if norm == "nonscaling" else "layernorm"
        self.net = ResidualDenoiser(latent_dim, width, depth, expansion, time_dim, layer, dropout)
        self.stats = TrainingStats()

    def forward(self, x: torch.Tensor, sigma: torch.Tensor | float | None = None) -> torch.Tensor:
        if sigma is None:
            sigma = self.sigma_min
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
        if sigma.dim() == 0:
            sigma = sigma.expand(len(x))
        c_skip, c_out, c_in = consistency_preconditioning(sigma, self.sigma_data, self.sigma_min)
        column = (-1,) + (1,) * (x.dim() - 1)
        noise_level = 250.0 * torch.log(sigma + 1e-44)
        out = self.net(c_in.reshape(column) * x, noise_level)
        return c_skip.reshape(column) * x + c_out.reshape(column) * out


def consistency_mlp(config: ConsistencyConfig, ctx) -> ConsistencyModel:
    dim = config.latent_dim
    if not dim:
        artifact = (ctx.artifacts if ctx is not None else {}).get(config.autoencoder)
        dim = getattr(artifact, "latent_dim", 0)
        if not dim:
            raise UserError(f"sclt.consistency_mlp: set latent_dim, or give the stage inputs = "
                            f"{{ {config.autoencoder} = \"<autoencoder stage>\" }}")
    return ConsistencyModel(int(dim), config.width, config.depth, config.expansion, config.time_dim,
                            config.norm, config.dropout, config.sigma_data, config.sigma_min)
