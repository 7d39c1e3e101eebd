"""InfoNCE / NT-Xent in its SimCLR form (Chen et al. 2020, arXiv 2002.05709, Eq. 1).

For a batch of N examples with views z1, z2 (N x d), stack z = [z1; z2] (2N x d), L2-normalise,
and let s_ij = z_iᵀz_j (cosine similarity). The positive of anchor i is its other view
p(i) = i + N mod 2N; its negatives N(i) are the other 2N - 2 rows (neither i nor p(i)):

    ℓ_i = −s_{i p(i)}/τ + log( exp(s_{i p(i)}/τ) + Σ_{k ∈ N(i)} exp(s_ik/τ) )        (Eq. 1)
    L   = (1 / 2N) Σ_i ℓ_i                                               (both directions)

i.e. a cross-entropy over the row ``s_i· / τ`` with the self-similarity masked to −inf (0 is a
legitimate cosine, so masking with 0 would be wrong) and target p(i). Computed with logsumexp,
which is stable for small τ.

In several processes each process contrasts its own batch (2N − 2 negatives per process); the
gradients are averaged by DDP as usual.
"""

from __future__ import annotations

import attrs
import torch
import torch.nn.functional as F
from latentzoo.config import option
from latentzoo.errors import UserError
from torch import nn

__all__ = ["positive_index", "negative_mask", "similarity_logits", "nt_xent", "NTXentConfig",
           "NTXent", "two_view_embeddings"]


def positive_index(n: int, device=None) -> torch.Tensor:
    """p(i) = i + n mod 2n for the 2n stacked views [z1; z2]."""
    return (torch.arange(2 * n, device=device) + n) % (2 * n)


def negative_mask(n: int, device=None) -> torch.Tensor:
    """(2n, 2n) bool, true where k is a negative of anchor i: k ≠ i and k ≠ p(i); rows sum to 2n − 2."""
    eye = torch.eye(2 * n, dtype=torch.bool, device=device)
    positive = eye.roll(n, dims=1)
    return ~(eye | positive)


def similarity_logits(z1: torch.Tensor, z2: torch.Tensor, temperature: float,
                      normalize: bool = True) -> torch.Tensor:
    """(2n, 2n) logits s_ij/τ of the stacked views, self-similarity set to −inf."""
    z = torch.cat([z1, z2]).flatten(1)
    if normalize:
        z = F.normalize(z, dim=1)
    logits = z @ z.T / temperature
    eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
    return logits.masked_fill(eye, float("-inf"))


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5, normalize: bool = True,
            reduction: str = "mean") -> torch.Tensor:
    """NT-Xent (Eq. 1): mean over the 2n anchors of both directions; ``reduction="none"`` gives ℓ_i."""
    if z1.shape != z2.shape:
        raise ValueError(f"the two views' embeddings differ in shape: {tuple(z1.shape)} vs {tuple(z2.shape)}")
    if len(z1) < 2:
        raise ValueError("NT-Xent needs at least 2 examples per batch (there are no negatives otherwise)")
    logits = similarity_logits(z1, z2, temperature, normalize)
    target = positive_index(len(z1), logits.device)
    return F.cross_entropy(logits, target, reduction=reduction)


def two_view_embeddings(model: nn.Module, batch: dict[str, torch.Tensor], who: str):
    """``model`` on both views in one pass (batch-norm statistics over both), split back."""
    if "x1" not in batch or "x2" not in batch:
        raise UserError(f"{who} needs two views x1, x2 in the batch (found keys: "
                        f"{', '.join(batch)}); set a two-view sampler, e.g. "
                        "sampler = \"ssl.digits_twoview\"")
    x1, x2 = batch["x1"], batch["x2"]
    z = model(torch.cat([x1, x2]))
    return z[: len(x1)], z[len(x1):]


@attrs.frozen
class NTXentConfig:
    temperature: float = option(0.5, "temperature τ of Eq. 1 (SimCLR: 0.5 on CIFAR-10, 0.1 on ImageNet)", gt=0)
    normalize: bool = option(True, "L2-normalise the embeddings (cosine similarity)")


class NTXent(nn.Module):
    """``loss(model, {x1, x2}) = nt_xent(model(x1), model(x2), τ)``; logs the mean positive cosine."""

    def __init__(self, config: NTXentConfig, ctx=None):
        super().__init__()
        self.temperature = config.temperature
        self.normalize = config.normalize

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        z1, z2 = two_view_embeddings(model, batch, "ssl.nt_xent")
        loss = nt_xent(z1, z2, self.temperature, self.normalize)
        with torch.no_grad():
            positive = F.cosine_similarity(z1.flatten(1), z2.flatten(1), dim=1).mean()
        return {"loss": loss, "positive_cosine": positive}
