"""Novel-class metrics of arXiv 2102.03243 (Sec. 4): the joint and the disjoint scenario.

Both metrics read gathered features (``evaluator.features`` runs the model over whole splits in
every process and restores dataset order) and draw their support/query sets from a
``torch.Generator`` with a fixed seed, so 1 and N processes, and every method evaluated with
the same seed, see exactly the same episodes and support indices.

- ``joint_acc``: K support examples of each novel class are drawn from the ``novel`` split
  (the rest of the pool are queries); their weights are appended to the trained C-way
  classifier (``novel.add_class``), and accuracy is measured over base-test + novel-query items
  in the (C + C')-way problem. Mean over ``draws`` support draws, with a 95% confidence interval.
- ``disjoint_acc``: N-way K-shot episodes on novel classes only (600 by default, Q queries per
  class), classified by the closest class weight (argmax cosine: the classifier built from
  novel weights alone), mean accuracy ± 1.96·σ/√E.

Models with a ``joint_head`` (the hyperspherical and the plain softmax classifier) extend
their own output layer; embedding networks (triplet, prototypical baselines) are classified by
prototypes, with base-class prototypes from the training split.

``softmax_confidence`` (cross-entropy and mean max-probability on a split) measures the
underfitting of a too small radius s in the ablation.
"""

from __future__ import annotations

import math

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError

from latentzoo_hyperspherical.novel import disjoint_predictions, prototype_scores, prototypes

__all__ = ["joint_acc", "disjoint_acc", "softmax_confidence", "mean_ci95", "draw_support_query"]


def mean_ci95(values: torch.Tensor) -> tuple[float, float]:
    """Mean and half-width 1.96·s/√n of the 95% normal interval (s: sample std, n − 1)."""
    values = values.double()
    if len(values) < 2:
        return float(values.mean()), float("nan")
    return float(values.mean()), float(1.96 * values.std(unbiased=True) / math.sqrt(len(values)))


def draw_support_query(members: list[torch.Tensor], shots: int, queries: int,
                       generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Per class (list of dataset indices): ``shots`` support, then ``queries`` query indices
    (``queries = 0``: every remaining example), without replacement."""
    support, query = [], []
    for index in members:
        order = index[torch.randperm(len(index), generator=generator)]
        support.append(order[:shots])
        query.append(order[shots: shots + queries] if queries else order[shots:])
    return torch.cat(support), torch.cat(query)


def _members(labels: torch.Tensor, classes: torch.Tensor) -> list[torch.Tensor]:
    return [torch.nonzero(labels == c).flatten() for c in classes.tolist()]


def _unwrap(model):
    return getattr(model, "module", model)


def _check_counts(members: list[torch.Tensor], classes: torch.Tensor, need: int, what: str) -> None:
    for c, index in zip(classes.tolist(), members, strict=True):
        if len(index) < need:
            raise UserError(f"{what}: class {c} has {len(index)} examples, fewer than the {need} needed")


# ---------------------------------------------------------------------------------------------
# Joint scenario
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class JointConfig:
    shots: int = option(5, "support examples K per novel class", gt=0)
    draws: int = option(20, "independent support draws averaged (same for every method)", gt=0)
    seed: int = option(0, "seed of the support draws")
    distance: str = option("cosine", "prototype distance for models without an output layer",
                           choices=("cosine", "euclidean"))
    base_split: str = option("test", "held-out base-class items")
    novel_split: str = option("novel", "pool of novel-class items (support and queries)")
    train_split: str = option("train", "base-class prototypes of head-less models come from here")
    prefix: str = option("", "prefix of the reported names")


def joint_acc(config: JointConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        model = _unwrap(evaluator.model)
        base_f, base_y = evaluator.features(config.base_split), evaluator.labels(config.base_split)
        novel_f, novel_y = evaluator.features(config.novel_split), evaluator.labels(config.novel_split)
        novel_classes = torch.unique(novel_y)
        members = _members(novel_y, novel_classes)
        _check_counts(members, novel_classes, config.shots + 1, "joint_acc (novel split)")
        head = getattr(model, "joint_head", None)
        if head is None:
            train_f, train_y = evaluator.features(config.train_split), evaluator.labels(config.train_split)
            base_centres = prototypes(train_f, train_y, torch.unique(train_y), config.distance)
        generator = torch.Generator().manual_seed(config.seed)
        overall, base_acc, novel_acc = [], [], []
        for _ in range(config.draws):
            support, query = draw_support_query(members, config.shots, 0, generator)
            features = torch.cat([base_f, novel_f[query]])
            labels = torch.cat([base_y, novel_y[query]])
            if head is not None:
                weight, bias = head(prototypes(novel_f[support], novel_y[support], novel_classes, "cosine"))
                scores = features @ weight.T + bias
            else:
                centres = torch.cat([base_centres, prototypes(novel_f[support], novel_y[support],
                                                               novel_classes, config.distance)])
                scores = prototype_scores(features, centres, config.distance)
            if scores.shape[1] != int(novel_classes.max()) + 1:
                raise UserError(f"joint_acc: the extended classifier has {scores.shape[1]} outputs but "
                                f"labels reach {int(novel_classes.max())}; train the model on the "
                                "data's base classes (out_dim = 0)")
            correct = (scores.argmax(-1) == labels).float()
            overall.append(correct.mean())
            base_acc.append(correct[: len(base_y)].mean())
            novel_acc.append(correct[len(base_y):].mean())
        mean, ci = mean_ci95(torch.stack(overall))
        name = f"{config.prefix}joint"
        return {f"{name}_acc_{config.shots}s": mean, f"{name}_acc_{config.shots}s_ci95": ci,
                f"{name}_base_acc_{config.shots}s": float(torch.stack(base_acc).mean()),
                f"{name}_novel_acc_{config.shots}s": float(torch.stack(novel_acc).mean())}

    return metric


# ---------------------------------------------------------------------------------------------
# Disjoint scenario
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class DisjointConfig:
    ways: int = option(5, "classes per episode N", gt=1)
    shots: int = option(1, "support examples K per class", gt=0)
    queries: int = option(15, "query examples per class", gt=0)
    episodes: int = option(600, "episodes averaged (the same for every method)", gt=0)
    seed: int = option(0, "seed of the episodes")
    distance: str = option("cosine", "argmax cosine to w_new (the paper) or nearest Euclidean "
                           "prototype (prototypical networks)", choices=("cosine", "euclidean"))
    split: str = option("novel", "split of the novel classes")
    prefix: str = option("", "prefix of the reported names")


def disjoint_acc(config: DisjointConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        features, labels = evaluator.features(config.split), evaluator.labels(config.split)
        classes = torch.unique(labels)
        if config.ways > len(classes):
            raise UserError(f"disjoint_acc: ways = {config.ways} but split '{config.split}' has "
                            f"{len(classes)} classes")
        members = _members(labels, classes)
        _check_counts(members, classes, config.shots + config.queries, "disjoint_acc")
        generator = torch.Generator().manual_seed(config.seed)
        accuracies = torch.empty(config.episodes)
        for episode in range(config.episodes):
            chosen = torch.randperm(len(classes), generator=generator)[: config.ways].sort().values
            support, query = draw_support_query([members[c] for c in chosen.tolist()], config.shots,
                                                config.queries, generator)
            episode_classes = classes[chosen]
            predicted = disjoint_predictions(features[support], labels[support], features[query],
                                             episode_classes, config.distance)
            accuracies[episode] = (predicted == labels[query]).float().mean()
        mean, ci = mean_ci95(accuracies)
        name = f"{config.prefix}disjoint_acc_{config.ways}w{config.shots}s"
        return {name: mean, f"{name}_ci95": ci}

    return metric


# ---------------------------------------------------------------------------------------------
# Softmax confidence (the radius ablation: a small s caps the softmax)
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class ConfidenceConfig:
    split: str = option("train", "split scored (train: how well the model fits)")
    prefix: str = option("", "prefix of the reported names")


def softmax_confidence(config: ConfidenceConfig, ctx):
    """Cross-entropy and mean max-probability of ``model(x)`` on a split.

    With ℓ_c = s·cos ∈ [−s, s] and C classes the softmax of the true class is at most
    e^s / (e^s + (C − 1)·e^−s), so the cross-entropy cannot fall below
    log(1 + (C − 1)·e^{−2s}) (0.433 for s = 1, C = 5): a too small radius underfits.
    """

    def metric(evaluator) -> dict[str, float]:
        logits = evaluator.predict(split=config.split)
        labels = evaluator.labels(config.split)
        log_probabilities = torch.log_softmax(logits.double(), -1)
        nll = -log_probabilities.gather(1, labels[:, None]).mean()
        confidence = log_probabilities.exp().max(-1).values.mean()
        return {f"{config.prefix}{config.split}_nll": float(nll),
                f"{config.prefix}{config.split}_confidence": float(confidence)}

    return metric
