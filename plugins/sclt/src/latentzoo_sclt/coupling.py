"""Training-time draw of (latent, noise) pairs: encoding, outlier injection, minibatch OT.

The ``sclt.ot_coupler`` sampler runs before the loss on each batch of ``sclt.digits``:

1. x ← the example's standardised latent (stage-1 autoencoder, std σ_d = 0.5 per element),
   looked up by the batch's ``index``; latents of the whole training split are computed once.
2. Optional outlier injection, fixed per example (spec "Small-scale reproduction"):
   ``coordinates``: a Bernoulli(p) mask over coordinates, each picked one gets ±scale·σ_d
   (sign uniform); ``student_t``: a fraction p of whole vectors gets Student-t(ν = 1.5)·σ_d
   noise added to every coordinate.
3. n ~ N(0, I) (unit noise, not yet scaled by σ), and with ``pairing = "ot"`` the exact
   minibatch OT plan (sLCT Sec. 4.2; Pooladian et al. 2023, arXiv 2304.14772): cost
   M_ij = ‖x_i − n_j‖², uniform marginals; the optimum is a permutation π
   (Birkhoff-von Neumann), found by ``scipy.optimize.linear_sum_assignment`` (a library
   solver; exact EMD with uniform weights gives the same plan). Pairs are (x_i, n_π(i)).

The batch leaves with ``x`` (latents), ``noise`` and ``pair_cost`` = mean_i ‖x_i − n_π(i)‖².
"""

from __future__ import annotations

import attrs
import numpy as np
import torch
from latentzoo.config import option
from latentzoo.errors import UserError

from latentzoo_sclt.autoencoder import LatentCodec

__all__ = ["ot_permutation", "ot_pair_noise", "inject_outliers", "OTCouplerConfig", "OTCoupler"]


def ot_permutation(x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """π minimising Σ_i ‖x_i − n_π(i)‖² over permutations (exact; SciPy's assignment solver)."""
    from scipy.optimize import linear_sum_assignment

    cost = torch.cdist(x.flatten(1).double().cpu(), noise.flatten(1).double().cpu()) ** 2
    rows, columns = linear_sum_assignment(cost.numpy())
    permutation = torch.empty(len(x), dtype=torch.long)
    permutation[torch.from_numpy(rows)] = torch.from_numpy(columns)
    return permutation.to(noise.device)


def ot_pair_noise(x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The noise reordered so that row i is x_i's OT partner n_π(i)."""
    return noise[ot_permutation(x, noise)]


def inject_outliers(latents: torch.Tensor, rate: float, scale: float, kind: str,
                    generator: torch.Generator, sigma_data: float = 0.5) -> torch.Tensor:
    """Contaminated copy of ``latents`` (N x D); see the module docstring."""
    if rate == 0:
        return latents.clone()
    if kind == "coordinates":
        mask = torch.rand(latents.shape, generator=generator) < rate
        sign = torch.randint(0, 2, latents.shape, generator=generator).float() * 2 - 1
        return latents + mask * sign * scale * sigma_data
    if kind == "student_t":
        picked = torch.rand(len(latents), generator=generator) < rate
        seed = int(torch.randint(0, 2 ** 31 - 1, (1,), generator=generator))
        heavy = np.random.default_rng(seed).standard_t(1.5, size=tuple(latents.shape))
        return latents + picked[:, None] * torch.from_numpy(heavy).float() * sigma_data
    raise ValueError(f"unknown outlier kind '{kind}' (choose 'coordinates' or 'student_t')")


@attrs.frozen
class OTCouplerConfig:
    pairing: str = option("ot", "'ot': exact minibatch OT pairs; 'independent': as drawn",
                          choices=("ot", "independent"))
    autoencoder: str = option("autoencoder", "artifact key of the stage-1 autoencoder")
    sigma_data: float = option(0.5, "std σ_d the latents are standardised to", gt=0)
    outlier_rate: float = option(0.0, "p: fraction of coordinates (or vectors) contaminated", ge=0, le=1)
    outlier_scale: float = option(20.0, "coordinate outliers: ±scale·σ_d", gt=0)
    outlier_kind: str = option("coordinates", "contamination kind", choices=("coordinates", "student_t"))
    outlier_seed: int = option(0, "seed of the fixed contamination (same for every arm)")


class OTCoupler:
    """``sampler(batch) -> batch`` with latents, (optionally OT-paired) noise and pair cost."""

    def __init__(self, config: OTCouplerConfig, ctx):
        artifacts = ctx.artifacts if ctx is not None else {}
        if config.autoencoder not in artifacts:
            raise UserError(f"sclt.ot_coupler needs the autoencoder artifact '{config.autoencoder}': "
                            f"add inputs = {{ {config.autoencoder} = \"<stage>\" }} to the stage "
                            f"(artifacts: {', '.join(artifacts) or 'none'})")
        if ctx.splits is None or "index" not in ctx.splits.split("train"):
            raise UserError("sclt.ot_coupler needs data with an 'index' key per example "
                            "(use data = { name = \"sclt.digits\" })")
        self.pairing = config.pairing
        train = ctx.splits.split("train")
        codec = LatentCodec(artifacts[config.autoencoder], train["x"], config.sigma_data)
        clean = codec.encode(train["x"]).cpu()
        generator = torch.Generator().manual_seed(config.outlier_seed)
        table = inject_outliers(clean, config.outlier_rate, config.outlier_scale,
                                config.outlier_kind, generator, config.sigma_data)
        self.latents = torch.zeros(int(train["index"].max()) + 1, clean.shape[1])
        self.latents[train["index"]] = table

    def __call__(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        index = batch["index"]
        if self.latents.device != index.device:
            self.latents = self.latents.to(index.device)
        x = self.latents[index]
        noise = torch.randn_like(x)
        if self.pairing == "ot":
            noise = ot_pair_noise(x, noise)
        pair_cost = ((x - noise) ** 2).sum(1).mean()
        return {**batch, "x": x, "noise": noise, "pair_cost": pair_cost}

