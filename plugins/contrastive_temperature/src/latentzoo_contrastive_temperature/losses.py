"""The contrastive losses of Wang & Liu, "Understanding the Behaviour of Contrastive Loss"
(CVPR 2021, arXiv 2012.09740), in the in-batch SimCLR form.

Formula labels (1)-(7) are this module's: (1) is the paper's contrastive loss (its first
equation), (2)-(6) its gradient analysis and limits (Sec. 3), (7) its hard contrastive loss
(Sec. 5); the paper numbers them differently. With s_ij = f(x_i)ᵀf(x_j) on the unit sphere,
p the positive of anchor i and N(i) its negatives:

    L_i = −s_ip/τ + log( exp(s_ip/τ) + Σ_{k∈N(i)} exp(s_ik/τ) )                    (1)

    P_ij = exp(s_ij/τ) / Z_i,   Z_i = exp(s_ip/τ) + Σ_{k∈N(i)} exp(s_ik/τ)
    ∂L_i/∂s_ij = (1/τ)·P_ij  (j ∈ N(i)),   ∂L_i/∂s_ip = −(1/τ)·Σ_{k∈N(i)} P_ik     (2)-(3)
    r_ij = |∂L_i/∂s_ij| / |∂L_i/∂s_ip| = exp(s_ij/τ) / Σ_{k∈N(i)} exp(s_ik/τ)      (4)

so the loss is *hardness-aware*: the push on negative j is its Boltzmann weight r_ij, more
concentrated on the nearest negatives the smaller τ is. Limits: τ→0⁺ gives
τ·L_i → max(s_max − s_ip, 0) (5), a zero-margin triplet loss on the hardest negative;
τ→∞ gives equal weights on every negative, the *simple* loss

    L_simple_i = −s_ip + λ·mean_{k∈N(i)} s_ik                                          (6)

(the paper writes λΣ; the mean keeps its scale independent of the batch size). The
hard-negative loss (Sec. 5) keeps only the K most similar negatives, s_ik ≥ s_α^(i):

    L_hard_i = −s_ip/τ + log( exp(s_ip/τ) + Σ_{k∈N(i), s_ik ≥ s_α^(i)} exp(s_ik/τ) )   (7)

with K = ⌈ρ·|N(i)|⌉ chosen by ``topk`` indices outside the graph (a float threshold would let
ties admit more than K negatives). In the batch, N(i) is the other 2B − 2 views
(:func:`latentzoo_ssl.losses.negative_mask`), and (1) there is
:func:`latentzoo_ssl.losses.nt_xent` (tested equal).
"""

from __future__ import annotations

import abc

import math

import attrs
import torch
import torch.nn.functional as F
from latentzoo.config import option
from latentzoo_ssl.losses import negative_mask, positive_index, two_view_embeddings
from torch import nn

__all__ = ["infonce_per_anchor", "hard_infonce_per_anchor", "simple_per_anchor", "hard_negative_count",
           "relative_penalty", "penalty_entropy", "positive_and_negatives", "batch_infonce",
           "batch_simple", "batch_penalty_entropy", "InfoNCE", "HardInfoNCE",
           "Simple", "InfoNCEConfig", "HardInfoNCEConfig", "SimpleConfig"]

# ---------------------------------------------------------------------------------------------
# Per-anchor forms: s_pos (A,), s_neg (A, K) similarities
# ---------------------------------------------------------------------------------------------


def infonce_per_anchor(s_pos: torch.Tensor, s_neg: torch.Tensor, temperature: float) -> torch.Tensor:
    """(1) for each anchor: −s_ip/τ + logsumexp([s_ip, s_ik...]/τ)."""
    logits = torch.cat([s_pos[:, None], s_neg], 1) / temperature
    return torch.logsumexp(logits, 1) - logits[:, 0]


def hard_negative_count(num_negatives: int, ratio: float) -> int:
    """K = ⌈ρ·|N(i)|⌉, at least 1."""
    return max(1, min(num_negatives, math.ceil(ratio * num_negatives - 1e-9)))


def hard_infonce_per_anchor(s_pos: torch.Tensor, s_neg: torch.Tensor, temperature: float,
                            ratio: float) -> torch.Tensor:
    """(7): (1) over the K = ⌈ρ·|N|⌉ most similar negatives (selected without gradient)."""
    k = hard_negative_count(s_neg.shape[1], ratio)
    if k == s_neg.shape[1]:
        return infonce_per_anchor(s_pos, s_neg, temperature)
    with torch.no_grad():
        index = s_neg.topk(k, dim=1).indices
    return infonce_per_anchor(s_pos, s_neg.gather(1, index), temperature)


def simple_per_anchor(s_pos: torch.Tensor, s_neg: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
    """(6): −s_ip + λ·mean_k s_ik."""
    return -s_pos + weight * s_neg.mean(1)


def relative_penalty(s_neg: torch.Tensor, temperature: float) -> torch.Tensor:
    """(4): r_ij = exp(s_ij/τ) / Σ_{k∈N(i)} exp(s_ik/τ), a softmax over each row of negatives."""
    return torch.softmax(s_neg / temperature, dim=-1)


def penalty_entropy(s_neg: torch.Tensor, temperature: float) -> torch.Tensor:
    """Entropy −Σ_j r_ij log r_ij of the relative penalties of each anchor (higher: flatter push)."""
    log_r = torch.log_softmax(s_neg / temperature, dim=-1)
    return -(log_r.exp() * log_r).sum(-1)


def positive_and_negatives(z1: torch.Tensor, z2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine s_ip (2B,) and the 2B − 2 negatives s_ik (2B, 2B − 2) of the stacked views [z1; z2]."""
    z = F.normalize(torch.cat([z1, z2]).flatten(1), dim=1)
    n = len(z1)
    sim = z @ z.T
    s_pos = sim.gather(1, positive_index(n, z.device)[:, None]).squeeze(1)
    s_neg = sim[negative_mask(n, z.device)].view(2 * n, 2 * n - 2)
    return s_pos, s_neg


# ---------------------------------------------------------------------------------------------
# Batch forms on the (2B, 2B) similarity matrix (the same values as the per-anchor forms on
# positive_and_negatives, without copying the negatives out: faster forward and backward)
# ---------------------------------------------------------------------------------------------


def _similarities(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    z = F.normalize(torch.cat([z1, z2]).flatten(1), dim=1)
    return z @ z.T


def batch_infonce(sim: torch.Tensor, temperature: float, ratio: float = 1.0) -> torch.Tensor:
    """Mean over the 2B anchors of (1) (ratio = 1) or (7) (top-K negatives, ratio = ρ)."""
    n = len(sim) // 2
    target = positive_index(n, sim.device)
    eye = torch.eye(2 * n, dtype=torch.bool, device=sim.device)
    logits = sim.masked_fill(eye, float("-inf")) / temperature  # self-similarity: −inf, never 0
    k = hard_negative_count(2 * n - 2, ratio)
    if k < 2 * n - 2:
        with torch.no_grad():  # select the K hardest negatives by index (ties: exactly K)
            negatives = logits.scatter(1, target[:, None], float("-inf"))
            keep = torch.zeros_like(eye).scatter_(1, negatives.topk(k, dim=1).indices, True)
            keep.scatter_(1, target[:, None], True)
        logits = logits.masked_fill(~keep, float("-inf"))
    return F.cross_entropy(logits, target)


def batch_simple(sim: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
    """Mean over the 2B anchors of (6): −s_ip + λ·(Σ_k s_ik − s_ii − s_ip)/(2B − 2)."""
    n = len(sim) // 2
    s_pos = sim.gather(1, positive_index(n, sim.device)[:, None]).squeeze(1)
    s_neg_mean = (sim.sum(1) - sim.diagonal() - s_pos) / (2 * n - 2)
    return (-s_pos + weight * s_neg_mean).mean()


def batch_penalty_entropy(sim: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean over anchors of the entropy of r_i· (4) over the 2B − 2 in-batch negatives."""
    n = len(sim) // 2
    logits = (sim / temperature).masked_fill(~negative_mask(n, sim.device), float("-inf"))
    return torch.special.entr(torch.softmax(logits, dim=1)).sum(1).mean()


# ---------------------------------------------------------------------------------------------
# Registered losses: loss(model, {x1, x2, ...})
# ---------------------------------------------------------------------------------------------


class _Contrastive(nn.Module):
    """Shared forward: embeddings of both views in one pass, their similarity matrix, the loss.

    Logs the mean positive cosine and the penalty entropy of the batch (at the loss's τ), and
    records τ on the model (``model.contrastive_temperature``) for
    ``contrastive_temperature.penalty_entropy``.
    """

    name = ""
    temperature = 1.0

    @abc.abstractmethod
    def batch_loss(self, sim: torch.Tensor) -> torch.Tensor:
        """Implemented by each subclass."""

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        z1, z2 = two_view_embeddings(model, batch, self.name)
        sim = _similarities(z1, z2)
        loss = self.batch_loss(sim)
        with torch.no_grad():
            n = len(z1)
            positive = sim.diagonal(n).mean()  # s_{i, i+n}: the positive pairs
            entropy = batch_penalty_entropy(sim, self.temperature)
        return {"loss": loss, "positive_cosine": positive, "penalty_entropy": entropy}

    def after_step(self, model: nn.Module, step: int) -> None:
        model.contrastive_temperature = float(self.temperature)


@attrs.frozen
class InfoNCEConfig:
    temperature: float = option(0.2, "temperature τ of (1) (sweep grid 0.05 ... 1.0)", gt=0)


class InfoNCE(_Contrastive):
    """(1), SimCLR form: the same value as :func:`latentzoo_ssl.losses.nt_xent` on the two views."""

    name = "contrastive_temperature.infonce"

    def __init__(self, config: InfoNCEConfig, ctx=None):
        super().__init__()
        self.temperature = config.temperature

    def batch_loss(self, sim):
        return batch_infonce(sim, self.temperature)


@attrs.frozen
class HardInfoNCEConfig:
    temperature: float = option(0.2, "temperature τ of (7)", gt=0)
    ratio: float = option(0.25, "ρ: fraction of the negatives kept, K = ⌈ρ·|N(i)|⌉ (1: plain InfoNCE)",
                          gt=0, le=1)


class HardInfoNCE(_Contrastive):
    """(7): InfoNCE over each anchor's K hardest in-batch negatives."""

    name = "contrastive_temperature.hard_infonce"

    def __init__(self, config: HardInfoNCEConfig, ctx=None):
        super().__init__()
        self.temperature = config.temperature
        self.ratio = config.ratio

    def batch_loss(self, sim):
        return batch_infonce(sim, self.temperature, self.ratio)


@attrs.frozen
class SimpleConfig:
    weight: float = option(1.0, "λ of (6), the weight of the mean negative similarity", gt=0)


class Simple(_Contrastive):
    """(6): the τ→∞ limit, every negative pushed with the same weight (not hardness-aware)."""

    name = "contrastive_temperature.simple"
    temperature = math.inf  # recorded on the model: r_ij is uniform, the entropy log|N(i)|

    def __init__(self, config: SimpleConfig, ctx=None):
        super().__init__()
        self.weight = config.weight

    def batch_loss(self, sim):
        return batch_simple(sim, self.weight)
