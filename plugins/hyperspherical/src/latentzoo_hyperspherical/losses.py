"""Losses: the normalised softmax of arXiv 2102.03243 and the metric-learning baselines.

- :class:`NormalizedSoftmaxCE`: CE over ℓ_c = s·ẑᵀw_c with ‖ẑ‖ = ‖w_c‖ = 1 (Sec. 3; Zhai & Wu
  2018, arXiv 1811.12649). Its ``after_step`` applies the unit-norm weight constraint after
  every optimiser update, as Keras applies ``kernel_constraint=min_max_norm(1, 1)``.
- :class:`TripletLoss`: FaceNet's triplet loss (Schroff et al. 2015, arXiv 1503.03832, Eq. 1)
  on L2-normalised embeddings, L = [D(a,p) − D(a,n) + α]₊ averaged over the batch's mined
  triplets; ``mining="semi_hard"`` keeps D(a,p) < D(a,n) < D(a,p) + α (FaceNet Eq. 4),
  ``"batch_all"`` every triplet with positive loss (Hermans et al. 2017, arXiv 1703.07737).
- :class:`PrototypicalLoss`: prototypical networks (Snell et al. 2017, arXiv 1703.05175,
  Eq. 1-2): c_k = mean of the support embeddings of class k, p(y=k|q) ∝ exp(−‖f(q) − c_k‖²),
  CE over the query examples of an episode drawn by ``hyperspherical.episodes``.
"""

from __future__ import annotations

import attrs
import torch
import torch.nn.functional as F
from latentzoo.config import option
from latentzoo.errors import UserError
from torch import nn

__all__ = ["NormalizedSoftmaxCE", "TripletLoss", "PrototypicalLoss", "triplet_loss",
           "pairwise_distances"]


# ---------------------------------------------------------------------------------------------
# Normalised softmax cross-entropy (the paper's training objective)
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class NormalizedSoftmaxConfig:
    project: bool = option(True, "apply the model's unit-norm weight constraint after every update "
                           "(its weight_mode decides whether anything is projected)")


class NormalizedSoftmaxCE(nn.Module):
    """CE(s·ẑᵀW, y), the batch mean; ``after_step`` projects w_c ← w_c/(1e-7 + ‖w_c‖)."""

    def __init__(self, config: NormalizedSoftmaxConfig, ctx=None):
        super().__init__()
        self.project = config.project

    @staticmethod
    def _check(model: nn.Module) -> None:
        if not callable(getattr(model, "project_weights", None)):
            raise UserError("hyperspherical.normalized_softmax_ce trains a model with a unit-norm "
                            "output layer (hyperspherical.hypersphere_classifier), found "
                            f"{type(model).__name__}; use builtin.cross_entropy for other models")

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        self._check(model)
        return F.cross_entropy(model(batch["x"]), batch["y"])

    def after_step(self, model: nn.Module, step: int) -> None:
        if self.project:
            model.project_weights()


# ---------------------------------------------------------------------------------------------
# Triplet loss (baseline)
# ---------------------------------------------------------------------------------------------


def pairwise_distances(embeddings: torch.Tensor, squared: bool = True) -> torch.Tensor:
    """D_ij = ‖e_i − e_j‖² (or ‖·‖), from differences so that D_ii = 0 exactly."""
    difference = embeddings[:, None, :] - embeddings[None, :, :]
    squared_distances = difference.pow(2).sum(-1)
    if squared:
        return squared_distances
    # sqrt has an infinite derivative at 0: keep the diagonal's gradient finite
    return torch.sqrt(squared_distances.clamp_min(1e-16))


def triplet_loss(embeddings: torch.Tensor, labels: torch.Tensor, margin: float,
                 mining: str = "semi_hard", squared: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of [D(a,p) − D(a,n) + α]₊ over the mined triplets; also the fraction mined.

    Valid triplets: a ≠ p, y_a = y_p, y_n ≠ y_a. ``semi_hard``: D(a,p) < D(a,n) < D(a,p) + α;
    ``batch_all``: D(a,p) − D(a,n) + α > 0. Without a mined triplet the loss is 0 (with a graph).
    """
    distances = pairwise_distances(embeddings, squared)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    positive = same & ~eye  # (a, p)
    negative = ~same  # (a, n)
    valid = positive[:, :, None] & negative[:, None, :]  # (a, p, n)
    d_ap = distances[:, :, None]
    d_an = distances[:, None, :]
    value = d_ap - d_an + margin
    if mining == "semi_hard":
        mined = valid & (d_an > d_ap) & (value > 0)
    elif mining == "batch_all":
        mined = valid & (value > 0)
    else:
        raise ValueError(f"mining must be 'semi_hard' or 'batch_all', found {mining!r}")
    count = mined.sum()
    loss = (value * mined).sum() / count.clamp_min(1)
    fraction = count.float() / valid.sum().clamp_min(1).float()
    return loss, fraction


@attrs.frozen
class TripletConfig:
    margin: float = option(0.2, "margin α (FaceNet: 0.2 on the unit sphere, squared distances)", gt=0)
    mining: str = option("semi_hard", "which triplets of the batch count",
                         choices=("semi_hard", "batch_all"))
    squared: bool = option(True, "squared Euclidean distances (FaceNet) instead of Euclidean")
    normalize: bool = option(True, "L2-normalise the embeddings first")


class TripletLoss(nn.Module):
    """Triplet loss over every mined triplet of the batch (baseline of the paper's Sec. 4)."""

    def __init__(self, config: TripletConfig, ctx=None):
        super().__init__()
        self.config = config

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        embeddings = model(batch["x"]).flatten(1)
        if self.config.normalize:
            embeddings = F.normalize(embeddings, dim=-1)
        loss, fraction = triplet_loss(embeddings, batch["y"], self.config.margin, self.config.mining,
                                      self.config.squared)
        return {"loss": loss, "mined_fraction": fraction.detach()}


# ---------------------------------------------------------------------------------------------
# Prototypical networks (baseline)
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class PrototypicalConfig:
    distance: str = option("squared_euclidean", "d(f(q), c_k): squared Euclidean (Snell et al.) or "
                           "cosine", choices=("squared_euclidean", "cosine"))
    temperature: float = option(1.0, "logits = −d / temperature", gt=0)


class PrototypicalLoss(nn.Module):
    """CE of −d(f(q), c_k) over an episode's queries; c_k = mean support embedding of class k.

    The batch must come from ``hyperspherical.episodes``: ``x``, episode labels ``y`` in
    0..N−1 and a boolean ``support`` mask.
    """

    def __init__(self, config: PrototypicalConfig, ctx=None):
        super().__init__()
        self.config = config

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if "support" not in batch:
            raise UserError("hyperspherical.protonet needs episodes: set the train stage's "
                            "sampler = { name = \"hyperspherical.episodes\" }")
        embeddings = model(batch["x"]).flatten(1)
        support = batch["support"].bool()
        labels = batch["y"]
        ways = int(labels.max()) + 1
        onehot = F.one_hot(labels[support], ways).to(embeddings.dtype)  # (S, N)
        centres = (onehot.T @ embeddings[support]) / onehot.sum(0)[:, None]  # Eq. 1
        query = embeddings[~support]
        if self.config.distance == "squared_euclidean":
            distances = (query[:, None, :] - centres[None, :, :]).pow(2).sum(-1)
        else:
            distances = 1 - F.normalize(query, dim=-1) @ F.normalize(centres, dim=-1).T
        logits = -distances / self.config.temperature  # Eq. 2
        loss = F.cross_entropy(logits, labels[~support])
        accuracy = (logits.argmax(-1) == labels[~support]).float().mean()
        return {"loss": loss, "episode_accuracy": accuracy.detach()}
