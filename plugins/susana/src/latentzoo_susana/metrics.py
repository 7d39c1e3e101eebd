"""Few-shot evaluation of SuSana (arXiv 2305.09062, Sec. 4): accuracy with a 95% confidence
interval over test episodes, the ICNN score of test episodes, and the prototype spread.

Every metric embeds the whole evaluation split once with ``evaluator.features`` (gathered in
dataset order across processes), then draws its episodes from a ``torch.Generator`` with a
fixed seed, using only the split's labels. So the values are identical in 1 or N processes,
and every model evaluated with the same seed sees the same episodes (paired comparisons).

Accuracy is the nearest-prototype rule (the argmax of ``-||f_q - c_k||²``), reported in % as
the mean over episodes ± ``1.96 · std / sqrt(episodes)`` (official ``compute_confidence_interval``,
population std).
"""

from __future__ import annotations

import math

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError

from latentzoo_susana.distances import smooth_distances
from latentzoo_susana.episodes import ClassIndex, class_major_labels
from latentzoo_susana.icnn import SELF_EXCLUSIONS, icnn_score, icnn_score_v0

__all__ = ["FewShotAccConfig", "fewshot_acc", "ICNNScoreConfig", "icnn_score_metric",
           "ICNNScoreV0Config", "icnn_score_v0_metric", "SpreadConfig", "proto_spread",
           "PairedConfig", "paired_fewshot_acc", "confidence_interval", "episode_accuracies"]

CHUNK = 100  # episodes per batched prototype-distance computation
ICNN_CHUNK = 50  # episodes per batched ICNN score


def _batched_scores(score_fn, features: torch.Tensor, index: torch.Tensor, labels: torch.Tensor,
                    **kwargs) -> torch.Tensor:
    """``score_fn(features[index[e]], labels, **kwargs)`` for every episode e, a few at a time."""
    return torch.cat([score_fn(features[index[i: i + ICNN_CHUNK]], labels, exact=False, **kwargs)
                      for i in range(0, len(index), ICNN_CHUNK)])


def _ways():
    return option((5,), "ways of the test episodes (one value per setting)", gt=1)


def _shots(default=(1, 5)):
    return option(default, "shots of the test episodes (one value per setting)", gt=0)


def _query():
    return option(15, "queries per class", gt=0)


def _episodes():
    return option(1000, "test episodes per (way, shot); the standard protocol uses >= 600", ge=600)


def _seed():
    return option(0, "seed of the episode generator (same seed: same episodes for every model)")


def _split():
    return option("", "split the episodes come from ('': the stage's evaluation split)")


def _prefix(name):
    return option("", f"prefix of the reported names ('<prefix>{name}_<way>w<shot>s')")


def confidence_interval(values: torch.Tensor) -> tuple[float, float]:
    """Mean and 95% half-width ``1.96 · std / sqrt(n)`` (population std, as the official code)."""
    values = values.double()
    return values.mean().item(), 1.96 * values.std(unbiased=False).item() / math.sqrt(len(values))


def _draw(evaluator, split: str, way: int, shot: int, query: int, episodes: int, seed: int):
    labels = evaluator.labels(split or None)
    index = ClassIndex(labels, f"split '{split or evaluator.split}'")
    try:
        index.check(way, shot, query)
    except ValueError as error:
        raise UserError(f"cannot draw {way}-way {shot}-shot episodes with {query} queries: {error}") from None
    generator = torch.Generator().manual_seed(seed * 1_000_003 + way * 1000 + shot)
    return index.draw_many(episodes, way, shot, query, generator)


def _episode_tensors(features: torch.Tensor, support: torch.Tensor, query: torch.Tensor, way: int):
    """Batched prototypes (E, way, d) and queries (E, way*query, d) of episodes (E, ...)."""
    dim = features.shape[1]
    protos = features[support].reshape(len(support), way, -1, dim).mean(dim=2)
    return protos, features[query]


def episode_accuracies(features: torch.Tensor, support: torch.Tensor, query: torch.Tensor,
                       way: int) -> torch.Tensor:
    """Nearest-prototype accuracy of each episode, shape (E,), in [0, 1]."""
    results = []
    for start in range(0, len(support), CHUNK):
        protos, queries = _episode_tensors(features, support[start: start + CHUNK],
                                           query[start: start + CHUNK], way)
        distances = (queries.unsqueeze(2) - protos.unsqueeze(1)).pow(2).sum(-1)  # (E, wq, way)
        labels = class_major_labels(way, queries.shape[1] // way)
        results.append((distances.argmin(-1) == labels).double().mean(-1))
    return torch.cat(results)


def _settings(config):
    return [(way, shot) for way in config.ways for shot in config.shots]


# ---------------------------------------------------------------------------------------------
# accuracy with 95% CI, and the figure by way / shot
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class FewShotAccConfig:
    ways: tuple[int, ...] = _ways()
    shots: tuple[int, ...] = _shots()
    query: int = _query()
    episodes: int = _episodes()
    seed: int = _seed()
    split: str = _split()
    figure: bool = option(True, "draw accuracy ± CI by way and shot")
    prefix: str = _prefix("fewshot_acc")


def fewshot_acc(config: FewShotAccConfig, ctx=None):
    """``fewshot_acc_<w>w<s>s`` (%) and ``fewshot_ci95_<w>w<s>s`` (95% half-width, %)."""

    def metric(evaluator) -> dict:
        features = evaluator.features(config.split or None)
        values, table = {}, {}
        for way, shot in _settings(config):
            support, query = _draw(evaluator, config.split, way, shot, config.query,
                                   config.episodes, config.seed)
            mean, half = confidence_interval(100 * episode_accuracies(features, support, query, way))
            values[f"{config.prefix}fewshot_acc_{way}w{shot}s"] = mean
            values[f"{config.prefix}fewshot_ci95_{way}w{shot}s"] = half
            table[way, shot] = (mean, half)
        if config.figure:
            values["figures"] = {f"{config.prefix}fewshot_accuracy": accuracy_figure(table, config.episodes)}
        return values

    return metric


def accuracy_figure(table: dict[tuple[int, int], tuple[float, float]], episodes: int):
    """Few-shot accuracy (%) against shot, one line per way, 95% CI error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(4.2, 3.2))
    for way in sorted({w for w, _ in table}):
        shots = sorted(s for w, s in table if w == way)
        axis.errorbar(shots, [table[way, s][0] for s in shots], yerr=[table[way, s][1] for s in shots],
                      marker="o", capsize=3, label=f"{way}-way")
    axis.set_xlabel("shot")
    axis.set_xticks(sorted({s for _, s in table}))
    axis.set_ylabel("accuracy (%)")
    axis.set_title(f"few-shot accuracy, 95% CI over {episodes} episodes", fontsize=9)
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


# ---------------------------------------------------------------------------------------------
# paired difference against a baseline model on the same episodes
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class PairedConfig:
    baseline: str = option(doc="stage whose model is the baseline (list it in the stage's 'models')")
    ways: tuple[int, ...] = _ways()
    shots: tuple[int, ...] = _shots()
    query: int = _query()
    episodes: int = _episodes()
    seed: int = _seed()
    split: str = _split()
    prefix: str = _prefix("paired_diff")


def paired_fewshot_acc(config: PairedConfig, ctx=None):
    """``paired_diff_<w>w<s>s``: mean per-episode accuracy of the model minus the baseline on
    the same episodes (percentage points), and ``paired_ci95_<w>w<s>s``, its 95% half-width."""

    def metric(evaluator) -> dict[str, float]:
        if config.baseline not in evaluator.models:
            raise UserError(f"susana.paired_fewshot_acc: baseline '{config.baseline}' is not among the "
                            f"stage's models ({', '.join(evaluator.models) or 'none'}); add it to 'models'")
        features = evaluator.features(config.split or None)
        baseline = evaluator.features(config.split or None, evaluator.models[config.baseline])
        values = {}
        for way, shot in _settings(config):
            support, query = _draw(evaluator, config.split, way, shot, config.query,
                                   config.episodes, config.seed)
            diff = (episode_accuracies(features, support, query, way)
                    - episode_accuracies(baseline, support, query, way))
            mean, half = confidence_interval(100 * diff)
            values[f"{config.prefix}paired_diff_{way}w{shot}s"] = mean
            values[f"{config.prefix}paired_ci95_{way}w{shot}s"] = half
        return values

    return metric


# ---------------------------------------------------------------------------------------------
# ICNN score of test episodes (separability transferred to novel classes)
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class ICNNScoreConfig:
    ways: tuple[int, ...] = _ways()
    shots: tuple[int, ...] = _shots((1,))
    query: int = _query()
    episodes: int = _episodes()
    seed: int = _seed()
    split: str = _split()
    k: int = option(4, "neighbours k", gt=0)
    variant: str = option("full", "full: support + query with ipc = shot + query (the loss's "
                          "default); supp: support only", choices=("full", "supp"))
    self_exclusion: str = option("mask", "self-exclusion rule", choices=SELF_EXCLUSIONS)
    prefix: str = _prefix("icnn_score")


def _episode_sets(support, query, way, shot, variant):
    """Dataset indices (E, n) and class-major labels (n,) of each episode's scored set:
    support + query (``full``) or support only (``supp``)."""
    n_query = query.shape[1] // way
    support_y = class_major_labels(way, shot)
    if variant == "supp":
        return support, support_y
    return torch.cat([support, query], dim=1), torch.cat([support_y, class_major_labels(way, n_query)])


def icnn_score_metric(config: ICNNScoreConfig, ctx=None):
    """``icnn_score_<w>w<s>s``: mean ICNN score (``modified_score``) of the test episodes."""

    def metric(evaluator) -> dict[str, float]:
        features = evaluator.features(config.split or None).double()
        values = {}
        for way, shot in _settings(config):
            support, query = _draw(evaluator, config.split, way, shot, config.query,
                                   config.episodes, config.seed)
            sets, labels = _episode_sets(support, query, way, shot, config.variant)
            ipc = shot + config.query if config.variant == "full" else None
            scores = _batched_scores(icnn_score, features, sets, labels, k=config.k, ipc=ipc,
                                     self_exclusion=config.self_exclusion)
            values[f"{config.prefix}icnn_score_{way}w{shot}s"] = scores.mean().item()
        return values

    return metric


@attrs.frozen
class ICNNScoreV0Config:
    ways: tuple[int, ...] = _ways()
    shots: tuple[int, ...] = _shots((1,))
    query: int = _query()
    episodes: int = _episodes()
    seed: int = _seed()
    split: str = _split()
    k: int = option(5, "neighbours k", gt=0)
    p: float = option(2.0, "exponent 1/p of the lambda term", gt=0)
    q: float = option(2.0, "exponent 1/q of the omega term", gt=0)
    r: float = option(2.0, "exponent 1/r of the gamma term", gt=0)
    omega: bool = option(False, "include the variance term omega (off in the official code)")
    self_exclusion: str = option("mask", "self-exclusion rule", choices=SELF_EXCLUSIONS)
    prefix: str = _prefix("icnn_score_v0")


def icnn_score_v0_metric(config: ICNNScoreV0Config, ctx=None):
    """``icnn_score_v0_<w>w<s>s``: the original ICNN score on support + query of test episodes."""

    def metric(evaluator) -> dict[str, float]:
        features = evaluator.features(config.split or None).double()
        values = {}
        for way, shot in _settings(config):
            support, query = _draw(evaluator, config.split, way, shot, config.query,
                                   config.episodes, config.seed)
            sets, labels = _episode_sets(support, query, way, shot, "full")
            scores = _batched_scores(icnn_score_v0, features, sets, labels, k=config.k, p=config.p,
                                     q=config.q, r=config.r, omega=config.omega,
                                     self_exclusion=config.self_exclusion)
            values[f"{config.prefix}icnn_score_v0_{way}w{shot}s"] = scores.mean().item()
        return values

    return metric


# ---------------------------------------------------------------------------------------------
# prototype spread: own-prototype distance relative to the nearest other prototype
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class SpreadConfig:
    ways: tuple[int, ...] = _ways()
    shots: tuple[int, ...] = _shots((1,))
    query: int = _query()
    episodes: int = _episodes()
    seed: int = _seed()
    split: str = _split()
    prefix: str = _prefix("spread_ratio")


def proto_spread(config: SpreadConfig, ctx=None):
    """``spread_ratio_<w>w<s>s = mean d(f_q, c_{y_q}) / mean min_{k != y_q} d(f_q, c_k)`` over all
    queries of all test episodes (the two distances of the Proto-Triplet loss); lower = tighter."""

    def metric(evaluator) -> dict[str, float]:
        features = evaluator.features(config.split or None).double()
        values = {}
        for way, shot in _settings(config):
            support, query = _draw(evaluator, config.split, way, shot, config.query,
                                   config.episodes, config.seed)
            positive, negative = [], []
            for start in range(0, len(support), CHUNK):
                protos, queries = _episode_tensors(features, support[start: start + CHUNK],
                                                   query[start: start + CHUNK], way)
                for p, q in zip(protos, queries, strict=True):
                    distances = smooth_distances(q, p)
                    own = torch.nn.functional.one_hot(class_major_labels(way, config.query), way).bool()
                    positive.append(distances[own])
                    negative.append(distances.masked_fill(own, float("inf")).min(dim=1).values)
            ratio = torch.cat(positive).mean() / torch.cat(negative).mean()
            values[f"{config.prefix}spread_ratio_{way}w{shot}s"] = ratio.item()
        return values

    return metric
