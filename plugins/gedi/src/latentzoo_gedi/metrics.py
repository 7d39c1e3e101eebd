"""Clustering, collapse and OOD metrics of a frozen GEDI network (arXiv 2401.00873).

Each factory returns ``metric(evaluator) -> {name: value}``; the evaluator gathers a whole split
in dataset order, so values do not depend on the number of processes.

- ``gedi.nmi``: NMI and ARI of the cluster assignment argmax_c f(x)_c against the labels
  (sklearn ``normalized_mutual_info_score`` / ``adjusted_rand_score``; the paper reports NMI).
- ``gedi.cluster_usage``: entropy H(mean_n softmax(f(x_n))) in nats of the split-mean
  assignment: 0 under cluster collapse, log C when every cluster is used equally.
- ``gedi.ood_auroc``: AUROC of the score −E(x) = logsumexp_c f(x)_c, test data (positive) vs
  uniform noise in the training data's box (negative); sklearn ``roc_auc_score``.
- ``gedi.cluster_map``: a figure for 2-D data, the test points coloured by cluster over the
  contours of E(x).
"""

from __future__ import annotations

import attrs
import numpy as np
import torch
import torch.nn.functional as F
from latentzoo.config import option
from latentzoo.errors import UserError, require

__all__ = ["NMIConfig", "nmi", "UsageConfig", "cluster_usage", "usage_entropy", "OODConfig",
           "ood_auroc", "ClusterMapConfig", "cluster_map"]


def _name(prefix: str, name: str) -> str:
    return f"{prefix}{name}" if prefix else name


@attrs.frozen
class NMIConfig:
    prefix: str = option("", "prefix of the reported names ('<prefix>nmi', '<prefix>ari')")


def nmi(config: NMIConfig, ctx):
    cluster = require("sklearn.metrics", "full", "gedi.nmi")

    def metric(evaluator) -> dict[str, float]:
        assigned = evaluator.predict().argmax(1).numpy()
        labels = evaluator.labels().numpy()
        return {_name(config.prefix, "nmi"): float(cluster.normalized_mutual_info_score(labels, assigned)),
                _name(config.prefix, "ari"): float(cluster.adjusted_rand_score(labels, assigned))}

    return metric


def usage_entropy(logits: torch.Tensor) -> float:
    """H(p̄) = −Σ_c p̄_c log p̄_c of p̄ = mean_n softmax(logits_n), in nats."""
    mean = F.softmax(logits.double(), dim=1).mean(0)
    return float(-(mean * mean.clamp_min(1e-300).log()).sum())


@attrs.frozen
class UsageConfig:
    prefix: str = option("", "prefix of the reported names ('<prefix>usage_entropy', '<prefix>clusters_used')")


def cluster_usage(config: UsageConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        logits = evaluator.predict()
        used = len(torch.unique(logits.argmax(1)))
        return {_name(config.prefix, "usage_entropy"): usage_entropy(logits),
                _name(config.prefix, "clusters_used"): float(used)}

    return metric


@attrs.frozen
class OODConfig:
    num_noise: int = option(0, "uniform noise points (0: as many as the split has examples)", ge=0)
    box_margin: float = option(0.5, "widen the training data's box by this fraction of its size on each side", ge=0)
    seed: int = option(0, "seed of the noise draw")
    prefix: str = option("", "prefix of the reported name ('<prefix>ood_auroc')")


def ood_auroc(config: OODConfig, ctx):
    metrics = require("sklearn.metrics", "full", "gedi.ood_auroc")

    def metric(evaluator) -> dict[str, float]:
        train = evaluator.tensors("train")["x"].float()
        test = evaluator.tensors()["x"]
        low, high = train.min(0).values, train.max(0).values
        widen = config.box_margin * (high - low)
        low, high = low - widen, high + widen
        generator = torch.Generator().manual_seed(config.seed)
        n = config.num_noise or len(test)
        noise = low + (high - low) * torch.rand((n, *low.shape), generator=generator)

        def score(model, batch):  # −E(x) = logsumexp_c f(x)_c
            return torch.logsumexp(model(batch["x"]), dim=1)

        data_score = evaluator.predict(score)
        noise_score = evaluator.predict(score, tensors={"x": noise})
        if not (torch.isfinite(data_score).all() and torch.isfinite(noise_score).all()):
            raise UserError("gedi.ood_auroc: the model's energies are not finite")
        y = np.r_[np.ones(len(data_score)), np.zeros(len(noise_score))]
        s = np.r_[data_score.double().numpy(), noise_score.double().numpy()]
        return {_name(config.prefix, "ood_auroc"): float(metrics.roc_auc_score(y, s))}

    return metric


@attrs.frozen
class ClusterMapConfig:
    resolution: int = option(120, "grid points per axis of the energy map", gt=1)
    name: str = option("cluster_map", "figure name (figures/<name>.png)")


def cluster_map(config: ClusterMapConfig, ctx):
    """2-D data only: test points coloured by argmax_c f(x)_c over contours of the energy E(x)."""

    def metric(evaluator) -> dict:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        x = evaluator.tensors()["x"]
        if x.dim() != 2 or x.shape[1] != 2:
            raise UserError(f"gedi.cluster_map draws 2-D data; the data's inputs are shaped {tuple(x.shape[1:])}")
        assigned = evaluator.predict().argmax(1)
        low, high = x.min(0).values, x.max(0).values
        pad = 0.5 * (high - low)
        gx, gy = (torch.linspace(float(low[i] - pad[i]), float(high[i] + pad[i]), config.resolution)
                  for i in range(2))
        grid = torch.stack(torch.meshgrid(gx, gy, indexing="xy"), -1).reshape(-1, 2)
        energies = -evaluator.predict(lambda model, batch: torch.logsumexp(model(batch["x"]), 1),
                                      tensors={"x": grid})
        figure, axis = plt.subplots(figsize=(4, 4))
        shown = axis.contourf(gx.numpy(), gy.numpy(), energies.reshape(len(gy), len(gx)).numpy(),
                              levels=20, cmap="Greys")
        figure.colorbar(shown, ax=axis, label="E(x)", shrink=0.8)
        axis.scatter(x[:, 0], x[:, 1], c=assigned.numpy(), cmap="coolwarm", s=3)
        axis.set_aspect("equal")
        axis.set_xticks([])
        axis.set_yticks([])
        return {"figures": {config.name: figure}}

    return metric
