"""Adding novel classes without training (arXiv 2102.03243, Sec. 3; official ``AddNewClass``).

Because every class of the hyperspherical classifier is a unit direction, a novel class with
examples x_1..x_K gets the weight

    m = (1/K) Σ_i z̃_i,   w_new = m / ‖m‖            (z̃ = s·z/‖z‖, after the scaling layer)

Joint scenario: W ← [W; w_new^(1); …; w_new^(C')] (old rows untouched), classify among C + C'.
Disjoint scenario: W = [w_new^(1); …; w_new^(C')] alone (official ``CreateNewModel`` followed
by ``AddNewClass`` for every novel class; a 1-class softmax is degenerate, so all novel classes
are added before evaluating).

Prototype classifiers for the baselines live here too: cosine prototypes
unit(mean_i unit(f_i)) (for z̃ of constant norm s this is exactly w_new above) and Euclidean
prototypes mean_i f_i scored by −‖f − c‖² (prototypical networks, Snell et al. 2017, Eq. 1-2).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

NORM_FLOOR = 1e-12


def unit(x: torch.Tensor) -> torch.Tensor:
    """x / ‖x‖ along the last dimension (a zero vector stays zero)."""
    return x / x.norm(dim=-1, keepdim=True).clamp_min(NORM_FLOOR)


def class_weight(embeddings: torch.Tensor) -> torch.Tensor:
    """w_new = m/‖m‖ with m the mean of the (already scaled) embeddings z̃_i, shape (d,)."""
    if embeddings.dim() != 2 or len(embeddings) == 0:
        raise ValueError(f"class_weight needs a non-empty (K, d) tensor of embeddings, found "
                         f"shape {tuple(embeddings.shape)}")
    return unit(embeddings.mean(0))


def append_rows(weight: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Joint scenario: [W; rows], the first C rows copied bit for bit."""
    return torch.cat([weight.detach(), rows.to(weight.dtype)], 0)


def class_means(features: torch.Tensor, labels: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """Mean feature of each class in ``classes`` (C', d); every class needs >= 1 example."""
    onehot = (labels[:, None] == classes[None, :]).to(features.dtype)  # (N, C')
    counts = onehot.sum(0)
    if (counts == 0).any():
        missing = classes[counts == 0].tolist()
        raise ValueError(f"no example of class(es) {missing} to build a prototype from")
    return (onehot.T @ features) / counts[:, None]


def prototypes(features: torch.Tensor, labels: torch.Tensor, classes: torch.Tensor,
               distance: str = "cosine") -> torch.Tensor:
    """Cosine: unit(mean unit(f)) per class (the paper's w_new); Euclidean: mean f per class."""
    if distance == "cosine":
        return unit(class_means(unit(features), labels, classes))
    if distance == "euclidean":
        return class_means(features, labels, classes)
    raise ValueError(f"distance must be 'cosine' or 'euclidean', found {distance!r}")


def prototype_scores(features: torch.Tensor, centres: torch.Tensor, distance: str = "cosine") -> torch.Tensor:
    """Scores whose argmax is the predicted class: cos(f, w) or −‖f − c‖²."""
    if distance == "cosine":
        return unit(features) @ centres.T
    if distance == "euclidean":
        return -torch.cdist(features.double(), centres.double()).pow(2).to(features.dtype)
    raise ValueError(f"distance must be 'cosine' or 'euclidean', found {distance!r}")


def disjoint_predictions(support: torch.Tensor, support_labels: torch.Tensor, query: torch.Tensor,
                         classes: torch.Tensor, distance: str = "cosine") -> torch.Tensor:
    """Disjoint scenario: a classifier made of novel-class weights only; returns class labels."""
    centres = prototypes(support, support_labels, classes, distance)
    return classes[prototype_scores(query, centres, distance).argmax(-1)]


def new_class_model(model, examples: list[torch.Tensor]):
    """Disjoint classifier of the official code: a copy of ``model`` whose output layer has
    one row per novel class (``CreateNewModel`` then ``AddNewClass`` for each)."""
    if not examples:
        raise ValueError("new_class_model needs the examples of at least one novel class")
    was_training = model.training
    model.eval()
    with torch.no_grad():
        rows = torch.stack([class_weight(model.embed(x)) for x in examples])
    model.train(was_training)
    new = copy.deepcopy(model)
    new.classifier.weight = nn.Parameter(rows.to(model.classifier.weight.dtype))
    return new

