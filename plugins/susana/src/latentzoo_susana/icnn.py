"""The ICNN (inter/intra-class nearest neighbour) score and loss of SuSana (arXiv 2305.09062).

The ICNN loss is ``L_ICNN = -log(score(E, y))`` where ``score`` in [0, 1] rates how well the
embeddings ``E`` separate their classes locally (paper Sec. 3.2; official
``algorithms/icnn_loss.py``, ``modified_score``). With ``d(a, b) = sqrt(||a-b||² + 1e-6)`` and
``eps = 1e-7``:

1. ``k <- n_t - 2`` if ``k + 2 >= n_t`` (n_t target rows); ``ipc = k + 1`` unless given.
2. For each origin row i: its ``ipc`` nearest targets (self excluded), ``d_i1 <= d_i2 <= ...``;
   ``sc_ij = 1[y_j = y_i]``, ``dc = 1 - sc``.
3. ``delta_i = min{d_ij : dc_ij = 1}`` over the ipc neighbours (inf if none).
4. ``n_ij = d_ij / (delta_i + eps)`` for j <= k, then ``n_ij <- n_ij / max(1, max_j' n_ij')``.
5. ``c_i = sum_{j<=k} sc_ij``, ``a_i = sum_j sc_ij n_ij / (c_i + eps)``;
   ``lambda_sc = 1 - sum_i a_i / (#{i: c_i > 0} + eps)``   (same-class neighbours are near).
6. ``e_ij = d_ij dc_ij / (max_{i, j<=k} d_ij dc_ij + eps)``, ``g_i = sum_{j<=k} dc_ij``;
   ``lambda_dc = sum_i (sum_j e_ij / (g_i + eps)) / (#{i: g_i > 0} + eps)``, or 1 if every
   ``g_i = 0``                                              (other-class neighbours are far).
7. ``lambda = (lambda_sc + lambda_dc) / 2``; ``gamma = (1/n) sum_i c_i / k`` (kNN label purity)
   if ``k + 2 < n_t``, else 1.
8. ``score = (lambda + gamma) / 2``.

Self-exclusion. The official code takes the ``ipc + 1`` nearest targets and drops column 0,
assuming it is the point itself (``self_exclusion="drop_first"``). That is wrong with duplicate
points of different labels and, when origin and target differ (the ``query`` variant), it
discards each query's true nearest neighbour. The default ``"mask"`` sets the diagonal to +inf
when origin and target are the same set and drops nothing otherwise.

``icnn_score_v0`` is the original score of the paper's first formulation (official ``score``):
min-max normalised neighbour distances, exponents p, q, r, and an optional variance term omega
(disabled in the official loss, and here by default).
"""

from __future__ import annotations

import torch

from latentzoo_susana.distances import smooth_distances

__all__ = ["SCORE_EPS", "SELF_EXCLUSIONS", "nearest_targets", "icnn_score", "icnn_loss",
           "icnn_score_v0"]

SCORE_EPS = 1e-7  # divisions in ``modified_score``
SELF_EXCLUSIONS = ("mask", "drop_first")


def nearest_targets(origin: torch.Tensor, target: torch.Tensor | None, count: int,
                    self_exclusion: str = "mask", exact: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Distances and indices of the ``count`` nearest targets of each origin row, ascending.

    ``origin`` is (..., n, d), ``target`` (..., n_t, d); leading batch dimensions broadcast.
    ``target=None`` means the origin set itself; then the point itself is excluded (``mask``:
    diagonal set to +inf; ``drop_first``: take ``count + 1`` and drop column 0, as the
    official code does, also when a separate target is given).
    """
    same = target is None
    target = origin if same else target
    n_t = target.shape[-2]
    distances = smooth_distances(origin, target, exact)
    if self_exclusion == "drop_first":
        if count + 1 > n_t:
            raise ValueError(f"ICNN: {count} neighbours + the dropped first column need "
                             f"{count + 1} target points, found {n_t}")
        values, indices = distances.topk(count + 1, dim=-1, largest=False)
        return values[..., 1:], indices[..., 1:]
    if self_exclusion != "mask":
        raise ValueError(f"self_exclusion must be one of {SELF_EXCLUSIONS}, found {self_exclusion!r}")
    available = n_t - 1 if same else n_t
    if count > available:
        raise ValueError(f"ICNN: {count} neighbours requested but only {available} other target "
                         "points exist (lower ipc)")
    if same:
        eye = torch.eye(n_t, dtype=torch.bool, device=distances.device)
        distances = distances.masked_fill(eye, float("inf"))
    return distances.topk(count, dim=-1, largest=False)


def _neighbour_labels(labels: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """``labels[indices]`` for shared labels (n_t,) or batched labels (..., n_t)."""
    if labels.dim() == 1:
        return labels[indices]
    expanded = labels.unsqueeze(-2).expand(*indices.shape[:-1], labels.shape[-1])
    return torch.gather(expanded, -1, indices)


def icnn_score(origin: torch.Tensor, origin_labels: torch.Tensor, target: torch.Tensor | None = None,
               target_labels: torch.Tensor | None = None, k: int = 4, ipc: int | None = None,
               self_exclusion: str = "mask", parts: bool = False, exact: bool = True):
    """The ICNN score (official ``modified_score``), steps 1-8 of the module docstring.

    Gradients flow through the distances only; counts, the argmin and the inf masks are constant.
    Batched: ``origin`` (..., n, d) gives scores of shape (...); labels are (n,) shared by every
    set, or (..., n).

    Args:
        origin: (n, d) embeddings whose neighbourhoods are scored.
        origin_labels: (n,) their labels.
        target: (n_t, d) embeddings the neighbours come from (None: ``origin`` itself).
        target_labels: (n_t,) their labels (needed iff ``target`` is given).
        k: neighbours in the lambda sums and gamma (shrunk to ``n_t - 2`` for small sets).
        ipc: neighbours searched for delta (default ``k + 1`` after the shrink; the ``full``
            loss passes shot + query).
        self_exclusion: ``"mask"`` (default) or ``"drop_first"`` (the official rule).
        parts: also return ``{"lambda_sc", "lambda_dc", "lambda", "gamma"}``.
        exact: explicit pairwise differences (default); False uses the Gram expansion, for
            float64 evaluation of many episodes (see ``squared_distances``).
    """
    if (target is None) != (target_labels is None):
        raise ValueError("ICNN: give both target and target_labels, or neither")
    n = origin.shape[-2]
    n_t = (origin if target is None else target).shape[-2]
    if n_t < 3:
        raise ValueError(f"ICNN needs at least 3 target points, found {n_t}")
    # Step 1: shrink k for small sets; ipc defaults to k + 1 after the shrink.
    if k + 2 >= n_t:
        k = n_t - 2
    ipc = k + 1 if ipc is None else ipc
    # ipc < k (e.g. full with shot + query < 5): the sums use the ipc columns there are, gamma
    # still divides by k, as the official slicing ``[:, :k]`` does.
    # Step 2: the ipc nearest targets, self excluded.
    distances, indices = nearest_targets(origin, target, ipc, self_exclusion, exact)
    labels = origin_labels if target_labels is None else target_labels
    same_class = (_neighbour_labels(labels, indices) == origin_labels.unsqueeze(-1)).to(distances.dtype)
    other_class = 1.0 - same_class
    # Step 3: delta_i, the nearest other-class neighbour among all ipc neighbours.
    delta = distances.masked_fill(other_class == 0, float("inf")).min(dim=-1).values
    # Step 4: distances relative to delta, first k neighbours, capped at 1 per row.
    near = distances[..., :k]
    relative = near / (delta.unsqueeze(-1) + SCORE_EPS)  # 0 where delta = inf
    relative = relative / relative.max(dim=-1, keepdim=True).values.clamp_min(1.0)
    # Step 5: lambda_sc.
    same_k = same_class[..., :k]
    same_counts = same_k.sum(dim=-1)
    same_mean = (same_k * relative).sum(dim=-1) / (same_counts + SCORE_EPS)
    lambda_sc = 1.0 - same_mean.sum(dim=-1) / (torch.count_nonzero(same_counts, dim=-1) + SCORE_EPS)
    # Step 6: lambda_dc, other-class distances scaled by their maximum over the whole set.
    other_k = other_class[..., :k]
    other_dist = near * other_k
    other_dist = other_dist / (other_dist.amax(dim=(-2, -1), keepdim=True) + SCORE_EPS)
    other_counts = other_k.sum(dim=-1)
    other_mean = other_dist.sum(dim=-1) / (other_counts + SCORE_EPS)
    lambda_dc = other_mean.sum(dim=-1) / (torch.count_nonzero(other_counts, dim=-1) + SCORE_EPS)
    none_other = torch.all(other_counts == 0, dim=-1)
    lambda_dc = torch.where(none_other, torch.abs(lambda_dc - 1.0), lambda_dc)  # official |0 - 1|
    # Step 7: lambda and gamma.
    lam = (lambda_sc + lambda_dc) / 2
    if k + 2 < n_t:
        gamma = (same_counts / k).sum(dim=-1) / n
    else:
        gamma = torch.ones_like(lam)
    # Step 8.
    score = (lam + gamma) / 2
    if parts:
        return score, {"lambda_sc": lambda_sc, "lambda_dc": lambda_dc, "lambda": lam, "gamma": gamma}
    return score


def icnn_loss(origin: torch.Tensor, origin_labels: torch.Tensor, target: torch.Tensor | None = None,
              target_labels: torch.Tensor | None = None, k: int = 4, ipc: int | None = None,
              self_exclusion: str = "mask", floor: float = 1e-8) -> torch.Tensor:
    """``L_ICNN = -log(max(score, floor))`` (the clamp keeps the log finite)."""
    score = icnn_score(origin, origin_labels, target, target_labels, k=k, ipc=ipc,
                       self_exclusion=self_exclusion)
    return -torch.log(score.clamp_min(floor))


def icnn_score_v0(origin: torch.Tensor, origin_labels: torch.Tensor, target: torch.Tensor | None = None,
                  target_labels: torch.Tensor | None = None, k: int = 5, p: float = 2, q: float = 2,
                  r: float = 2, omega: bool = False, self_exclusion: str = "mask",
                  exact: bool = True) -> torch.Tensor:
    """The original ICNN score (official ``score``), before the ``modified_score`` rewrite.

    With the k nearest targets (k <- 3 if k >= n_t), row-wise min-max normalised distances
    ``nd`` (eps 1e-6), ``scnd = nd * sc`` and ``dcnd = nd * dc``:

        lambda_i = sum_j (dcnd_ij + (1 - scnd_ij) sc_ij),
        lambda   = (1/n) sum_i (lambda_i / (max_i' lambda_i' + eps))^(1/p),
        omega    = (1 - (var(scnd) + var(dcnd)))^(1/q),
        gamma    = (1/n) sum_i (c_i / k)^(1/r),
        score    = (lambda + gamma) / 2, or (lambda + gamma + omega) / 3 with ``omega=True``.

    The official loss never uses omega (its return line is commented out); here the base of
    omega's root is clamped at 0 (the official code would return NaN for a negative base).
    Batched like :func:`icnn_score`.
    """
    if (target is None) != (target_labels is None):
        raise ValueError("ICNN v0: give both target and target_labels, or neither")
    eps = 1e-6
    n, n_t = origin.shape[-2], (origin if target is None else target).shape[-2]
    k = 3 if k >= n_t else k
    distances, indices = nearest_targets(origin, target, k, self_exclusion, exact)
    labels = origin_labels if target_labels is None else target_labels
    same_class = (_neighbour_labels(labels, indices) == origin_labels.unsqueeze(-1)).to(distances.dtype)
    other_class = 1.0 - same_class
    low = distances.min(dim=-1, keepdim=True).values
    high = distances.max(dim=-1, keepdim=True).values
    normalised = (distances - low) / (high - low + eps)
    same_nd, other_nd = normalised * same_class, normalised * other_class
    per_row = (other_nd + (1 - same_nd) * same_class).sum(dim=-1)
    top = per_row.max(dim=-1, keepdim=True).values
    lam = ((per_row / (top + eps)) ** (1 / p)).sum(dim=-1) / n
    gamma = ((same_class.sum(dim=-1) / k) ** (1 / r)).sum(dim=-1) / n
    if omega:
        variance = same_nd.flatten(-2).var(dim=-1) + other_nd.flatten(-2).var(dim=-1)
        om = (1 - variance).clamp_min(0) ** (1 / q)
        return (lam + gamma + om) / 3
    return (lam + gamma) / 2
