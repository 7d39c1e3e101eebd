"""Latent priors P(z) of MIM (arXiv 1910.03175) for cMIM (arXiv 2502.19642).

- ``normal``: the anchor P(z) = N(0, I) of the MIM repo (``--p-z anchor``) and of the (C)
  KERMT cMIM code. The repo adds min_scale = 1e-10 to the unit scale; that is below float
  precision and left out here.
- ``mog``: a learnable mixture of K Gaussians, the repo's ``--p-z prior --p-z-gmm K``
  ablation (``GMMPriorLayer``): learnable log-weights, means and log-scales. The repo places
  the initial means on circles packed in the first two latent axes (``circlify``); here the
  means start from N(0, I) drawn with a fixed generator and unit scales (our simplification).

    log P_mog(z) = logsumexp_k [ log π_k + log N(z; m_k, diag s_k²) ],   π = softmax(a)

  The repo's ``GMMPriorLayer`` builds its ``GMMDist`` with ``truncate_comps=True``: every
  component whose logit a_k lies below mean(a) − std(a) (sample std over the K logits) gets
  a_k − 10⁵ before the softmax, so it drops out of the mixture. ``truncate=True`` does the same;
  the default (False) keeps every component. Equal logits (our initialisation) truncate nothing.

Priors live in the loss (they are part of the objective, and a learnable one joins the
optimiser through the loss), not in the model.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from latentzoo_cmim.models import gaussian_log_prob

__all__ = ["StandardNormalPrior", "MixturePrior", "make_prior"]


class StandardNormalPrior(nn.Module):
    """P(z) = N(0, I): log P(z) = −½ Σ_d (log 2π + z_d²)."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return gaussian_log_prob(z, torch.zeros_like(z), torch.zeros((), dtype=z.dtype, device=z.device))


class MixturePrior(nn.Module):
    """Learnable mixture of ``components`` diagonal Gaussians in ``latent_dim`` dimensions."""

    def __init__(self, latent_dim: int, components: int, seed: int = 0, truncate: bool = False):
        super().__init__()
        self.truncate = truncate
        generator = torch.Generator().manual_seed(seed)
        self.logits = nn.Parameter(torch.zeros(components))
        self.means = nn.Parameter(torch.randn(components, latent_dim, generator=generator))
        self.logvars = nn.Parameter(torch.zeros(components, latent_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        logits = self.logits
        if self.truncate and logits.numel() > 1:  # the MIM repo's truncate_comps: drop below mean − std
            low = (logits < logits.mean() - logits.std()).detach()
            logits = logits - 1e5 * low.to(logits.dtype)
        log_weights = torch.log_softmax(logits, dim=0)                            # (K,)
        per_component = gaussian_log_prob(z[:, None, :], self.means[None], self.logvars[None])  # (B, K)
        return torch.logsumexp(per_component + log_weights, dim=1)


def make_prior(kind: str, latent_dim: int, components: int = 10, seed: int = 0,
               truncate: bool = False) -> nn.Module:
    if kind == "normal":
        return StandardNormalPrior()
    if kind == "mog":
        return MixturePrior(latent_dim, components, seed, truncate)
    raise ValueError(f"unknown prior {kind!r}: use 'normal' or 'mog'")


def log_normal_constant(dim: int) -> float:
    """−(d/2) log 2π, the log-density of N(0, I) at its mean (used in tests)."""
    return -0.5 * dim * math.log(2 * math.pi)
