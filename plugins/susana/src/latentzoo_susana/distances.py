"""Distances, prototypes and the Proto-Triplet loss of SuSana (arXiv 2305.09062).

Mendez-Ruiz et al., "SuSana Distancia is all you need: Enforcing class separability in
metric learning via two novel distance-based loss functions for few-shot image
classification", 2023. Official code: github.com/maumruiz/FSL-Loss (``algorithms/icnn_loss.py``,
``models/protonet.py``).

Two distances live side by side, as in the official code:

- the ProtoNet logits use the **squared** Euclidean distance, ``logits_qk = -||f_q - c_k||² / T``;
- the Proto-Triplet loss and the ICNN score use the **smoothed Euclidean** distance
  ``d(a, b) = sqrt(||a - b||² + 1e-6)`` (the 1e-6 keeps the gradient finite at a = b).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["DISTANCE_EPS", "squared_distances", "smooth_distances", "prototypes", "proto_logits",
           "proto_triplet_loss"]

DISTANCE_EPS = 1e-6  # added under the square root (official ``nearest_neighbors``)


def squared_distances(x: torch.Tensor, y: torch.Tensor, exact: bool = True) -> torch.Tensor:
    """``||x_i - y_j||²`` for every pair: (..., n, d), (..., m, d) -> (..., n, m).

    ``exact``: the explicit difference, as the official ``euclidean_dist`` (exact for duplicate
    points; memory n·m·d). Otherwise the expansion ``|x|² + |y|² - 2 x·y`` clamped at 0, for
    evaluation in float64, where its rounding error (~1e-16 |x|²) is far below the 1e-6 of ``d``.
    Leading batch dimensions broadcast.
    """
    if exact:
        return (x.unsqueeze(-2) - y.unsqueeze(-3)).pow(2).sum(-1)
    gram = x @ y.transpose(-2, -1)
    return (x.pow(2).sum(-1, keepdim=True) + y.pow(2).sum(-1).unsqueeze(-2) - 2 * gram).clamp_min(0)


def smooth_distances(x: torch.Tensor, y: torch.Tensor, exact: bool = True) -> torch.Tensor:
    """``d(x_i, y_j) = sqrt(||x_i - y_j||² + 1e-6)``: (..., n, d), (..., m, d) -> (..., n, m)."""
    return (squared_distances(x, y, exact) + DISTANCE_EPS).sqrt()


def prototypes(support: torch.Tensor, labels: torch.Tensor, way: int) -> torch.Tensor:
    """``c_k = mean of the support embeddings of class k`` (ProtoNet, Snell et al. 2017, Eq. 1).

    Args:
        support: (n_support, d) embeddings.
        labels: (n_support,) integer labels in ``[0, way)``; any order (class-major or not).
        way: number of classes of the episode.

    Returns:
        (way, d) prototypes.
    """
    one_hot = F.one_hot(labels.long(), way).to(support.dtype)  # (n, way)
    counts = one_hot.sum(0).clamp_min(1.0)
    return (one_hot.T @ support) / counts.unsqueeze(1)


def proto_logits(queries: torch.Tensor, protos: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """``logits_qk = -||f_q - c_k||² / T`` (official ``ProtoNet.forward``)."""
    return -squared_distances(queries, protos) / temperature


def proto_triplet_loss(queries: torch.Tensor, query_labels: torch.Tensor, protos: torch.Tensor,
                       margin: float = 0.5) -> torch.Tensor:
    """Proto-Triplet loss: anchor = query, positive = its class prototype, negative = the
    nearest prototype of another class (paper Sec. 3, official ``proto_triplet_loss``):

        L_PT = mean_q max(0, d(f_q, c_{y_q}) - min_{k != y_q} d(f_q, c_k) + m)

    with the smoothed Euclidean distance ``d`` (not squared).

    Args:
        queries: (n_query, d) query embeddings.
        query_labels: (n_query,) labels in ``[0, way)``, ``way = len(protos)``.
        protos: (way, d) prototypes, row k of class k.
        margin: the margin m (0.5 in the paper).
    """
    distances = smooth_distances(queries, protos)  # (n_query, way)
    own = F.one_hot(query_labels.long(), protos.shape[0]).bool()
    positive = distances[own]
    negative = distances.masked_fill(own, float("inf")).min(dim=1).values
    return torch.clamp(positive - negative + margin, min=0).mean()
