"""Probes of the random-teacher paper (arXiv 2302.12091; evaluation protocol of the spec).

``random_teachers.probe`` evaluates the encoder embedding h(x) (never the head output) of the
stage's model and of every further model the evaluate stage names (the random teacher), and the
raw inputs, all with the same protocol:

1. standardise with the training split's mean and std (std floored at 10·eps);
2. k-NN accuracy (k = 20, cosine or Euclidean) of the test split against the training split;
3. a linear probe trained with AdamW for ``epochs`` epochs (fixed seed, same for every model).

Against the model named ``reference`` (the teacher) it also reports the gains ``knn_gain`` and
``linear_gain`` (model minus reference, the quantity of the paper's claims), ‖θ_S − θ_T‖ and
‖θ_S − θ_T‖ / ‖θ_T‖ (for ``s_init = teacher`` the distance the student moved, ‖θ_S − θ_S(0)‖).
The core's ``builtin.knn_accuracy`` / ``builtin.linear_probe`` (sklearn) give a second,
independent probe of the same embeddings in the reproduction configs.
"""

from __future__ import annotations

import attrs
import torch
import torch.nn.functional as F
from latentzoo.config import option

__all__ = ["ProbeConfig", "probe", "standardize", "knn_accuracy", "linear_probe_accuracy"]

STD_FLOOR = 10 * torch.finfo(torch.float32).eps


@attrs.frozen
class ProbeConfig:
    k: int = option(20, "neighbours of the k-NN probe", gt=0)
    distance: str = option("euclidean", "k-NN distance on standardised features",
                           choices=("euclidean", "cosine"))
    epochs: int = option(10, "linear-probe epochs (AdamW)", gt=0)
    lr: float = option(1e-3, "linear-probe AdamW learning rate", gt=0)
    weight_decay: float = option(0.0, "linear-probe AdamW weight decay", ge=0)
    batch_size: int = option(64, "linear-probe batch size", gt=0)
    seed: int = option(0, "seed of the linear probe (init and order), shared by every model")
    raw: bool = option(True, "also probe the raw (standardised) inputs")
    reference: str = option("teacher", "model of 'models' to measure ‖θ − θ_ref‖ against ('' : off)")
    train_split: str = option("train", "split the probes are fitted on")


def standardize(train: torch.Tensor, test: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean, std = train.mean(0), train.std(0).clamp_min(STD_FLOOR)
    return (train - mean) / std, (test - mean) / std


def knn_accuracy(train: torch.Tensor, train_y: torch.Tensor, test: torch.Tensor,
                 test_y: torch.Tensor, k: int, distance: str = "euclidean") -> float:
    """Majority vote of the k nearest training points (ties: the smallest label)."""
    if distance == "cosine":
        scores = F.normalize(test, dim=1) @ F.normalize(train, dim=1).T
    else:
        scores = -torch.cdist(test.double(), train.double())
    index = scores.topk(min(k, len(train)), dim=1).indices
    votes = F.one_hot(train_y[index], int(train_y.max()) + 1).sum(1)
    return (votes.argmax(1) == test_y).double().mean().item()


def linear_probe_accuracy(train: torch.Tensor, train_y: torch.Tensor, test: torch.Tensor,
                          test_y: torch.Tensor, config: ProbeConfig) -> float:
    generator = torch.Generator().manual_seed(config.seed)
    classes = int(max(train_y.max(), test_y.max())) + 1
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        head = torch.nn.Linear(train.shape[1], classes)
    optimizer = torch.optim.AdamW(head.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    with torch.enable_grad():
        for _ in range(config.epochs):
            order = torch.randperm(len(train), generator=generator)
            for start in range(0, len(train), config.batch_size):
                index = order[start: start + config.batch_size]
                loss = F.cross_entropy(head(train[index]), train_y[index])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    with torch.no_grad():
        return (head(test).argmax(1) == test_y).float().mean().item()


def _scores(train, train_y, test, test_y, config, name) -> dict[str, float]:
    train, test = standardize(train.float(), test.float())
    return {f"{name}knn": knn_accuracy(train, train_y, test, test_y, config.k, config.distance),
            f"{name}linear": linear_probe_accuracy(train, train_y, test, test_y, config)}


def probe(config: ProbeConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        train_y, test_y = evaluator.labels(config.train_split), evaluator.labels()
        values: dict[str, float] = {}
        named = ([("", evaluator.model)] if evaluator.model is not None else []) + [
            (f"{name}_", model) for name, model in evaluator.models.items()]
        for prefix, model in named:
            values |= _scores(evaluator.features(config.train_split, model), train_y,
                              evaluator.features(None, model), test_y, config, prefix)
        if config.raw:
            values |= _scores(evaluator.tensors(config.train_split)["x"].flatten(1), train_y,
                              evaluator.tensors()["x"].flatten(1), test_y, config, "raw_")
        reference = evaluator.models.get(config.reference) if config.reference else None
        if reference is not None and evaluator.model is not None:
            pairs = list(zip(evaluator.model.parameters(), reference.parameters(), strict=True))
            distance = sum(((p.detach().double() - q.detach().double()) ** 2).sum() for p, q in pairs).sqrt()
            norm = sum((q.detach().double() ** 2).sum() for _, q in pairs).sqrt()
            values["param_distance"] = distance.item()
            values["relative_param_distance"] = (distance / norm).item()
            for probe_name in ("knn", "linear"):  # the gain the paper reports: student minus teacher
                values[f"{probe_name}_gain"] = (values[probe_name]
                                                - values[f"{config.reference}_{probe_name}"])
        return values

    return metric
