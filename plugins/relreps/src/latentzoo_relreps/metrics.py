"""Metrics of latent space communication: zero-shot stitching and cross-space similarity.

Moschella et al., ICLR 2023, arXiv 2209.15430.

``relreps.stitch_score`` (Sec. 5, Tables 4-6): for the models M_1..M_n an evaluate stage sees
(``model`` and ``models``), every ordered pair (i, j) is scored with the stitched model
head_j ∘ LN_j ∘ space_i (``models.Stitched``): accuracy for classifiers, pixel MSE for
autoencoders. i = j is the ordinary model ("self"), i ≠ j the zero-shot stitched one. Models
are grouped by their space (relative / absolute): stitching never mixes spaces.

``relreps.latent_similarity`` (Sec. 4.1, Table 1; official
``experiments/fig:latent-rotation-comparison/quantitative_analysis.ipynb:evaluate_retrieval``):
for two spaces X (model i) and Y (model j) of the same N test samples,

    Cosine    = 1/N Σ_n cos(X_n, Y_n)
    MRR@k     = 1/N Σ_n [n ∈ top_k(X_n)] / rank_n,   top_k(q) = the k rows of Y most cosine-similar to q
    Jaccard@k = 1/N Σ_n |top_k(X_n) ∩ top_k(Y_n)| / |top_k(X_n) ∪ top_k(Y_n)|

(MRR is MRR@k as in the official code: 0 when Y_n is not among the first k, not a full ranking.)
Absolute spaces are e_x of each model; relative spaces r_x (Eq. 1, cosine) against each model's
own latents of the same anchor inputs.
"""

from __future__ import annotations

import itertools

import attrs
import torch
import torch.nn.functional as F
from latentzoo.config import option
from latentzoo.errors import UserError

from latentzoo_relreps.models import RelRepsModel, Stitched, relative_projection

__all__ = ["retrieval_scores", "StitchScoreConfig", "stitch_score", "LatentSimilarityConfig",
           "latent_similarity"]


def _name(prefix: str, name: str) -> str:
    return f"{prefix}{name}" if prefix else name


def collect_models(evaluator, what: str) -> dict[str, RelRepsModel]:
    """The evaluate stage's ``model`` followed by its ``models``, by stage name."""
    models = dict(evaluator.models)
    main = evaluator.model
    if main is not None and not any(m is main for m in models.values()):
        name = next((k for k, v in evaluator.artifacts.items() if v is main), "model")
        models = {name: main, **models}
    for name, model in models.items():
        if not isinstance(model, RelRepsModel):
            raise UserError(f"{what}: model '{name}' is a {type(model).__name__}, not a relreps model "
                            "(train it with relreps.classifier or relreps.autoencoder)")
    if len(models) < 2:
        raise UserError(f"{what} compares models: give the evaluate stage at least two trained "
                        f"models (model = ..., models = [...]); found {len(models)}")
    return models


# ---------------------------------------------------------------------------------------------
# Zero-shot stitching
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class StitchScoreConfig:
    prefix: str = option("", "prefix of the reported names")
    figure: bool = option(True, "return the encoder x head matrix as figure 'stitching_matrix'")


def _group_label(model: RelRepsModel) -> str:
    if model.space == "relative" and model.similarity != "cosine":
        return f"relative-{model.similarity}"
    return model.space


def stitch_score(config: StitchScoreConfig, ctx):
    """Accuracy (classifiers) or MSE (autoencoders) of every encoder x head pair.

    Reports ``accuracy_self`` / ``accuracy_stitched`` / ``accuracy_stitched_std`` (or ``mse_*``
    and ``mse_ratio`` = stitched / self); with several spaces each name starts with the space.
    """

    def metric(evaluator) -> dict:
        models = collect_models(evaluator, "relreps.stitch_score")
        groups: dict[str, list[str]] = {}
        for name, model in models.items():
            groups.setdefault(_group_label(model), []).append(name)
        tasks = {m.task for m in models.values()}
        if len(tasks) > 1:
            raise UserError(f"relreps.stitch_score: models of different tasks {sorted(tasks)} cannot be stitched")
        task = tasks.pop()
        values: dict = {}
        matrices = {}
        shown: dict[str, dict[str, torch.Tensor]] = {}
        for label, names in groups.items():
            if len(names) < 2:
                raise UserError(f"relreps.stitch_score: only one {label} model ({names[0]}); stitching "
                                "needs at least two models of the same space")
            matrix = torch.zeros(len(names), len(names), dtype=torch.float64)
            for i, j in itertools.product(range(len(names)), repeat=2):
                stitched = Stitched(models[names[i]], models[names[j]]).eval()
                outputs = evaluator.predict(model=stitched)
                matrix[i, j] = _score(outputs, evaluator, task)
                if task == "reconstruction" and (i, j) in ((0, 0), (1, 0)):
                    shown.setdefault(label, {})[f"{names[i]} -> {names[j]}"] = outputs[:_SHOWN]
            matrices[label] = (names, matrix)
            off = ~torch.eye(len(names), dtype=torch.bool)
            kind = "accuracy" if task == "classification" else "mse"
            head = f"{label}_{kind}" if len(groups) > 1 else kind
            self_score, stitched = matrix.diagonal().mean().item(), matrix[off].mean().item()
            values[_name(config.prefix, f"{head}_self")] = self_score
            values[_name(config.prefix, f"{head}_stitched")] = stitched
            values[_name(config.prefix, f"{head}_stitched_std")] = matrix[off].std().item() if off.sum() > 1 else 0.0
            if kind == "mse":
                values[_name(config.prefix, f"{head}_ratio")] = stitched / max(self_score, 1e-12)
        if config.figure:
            figures = {_name(config.prefix, "stitching_matrix"): _matrix_figure(matrices, task)}
            if shown:
                original = evaluator.tensors()["x"][:_SHOWN]
                figures[_name(config.prefix, "stitched_reconstructions")] = _reconstruction_figure(original, shown)
            values["figures"] = figures
        return values

    return metric


_SHOWN = 8


def _reconstruction_figure(original: torch.Tensor, shown: dict):
    """Rows: test inputs, then per space the non-stitched and the stitched reconstructions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [("input", original)] + [(f"{label}: {pair}", images) for label, pairs in shown.items()
                                    for pair, images in pairs.items()]
    count = len(original)
    figure, axes = plt.subplots(len(rows), count, figsize=(0.9 * count + 2.2, 0.95 * len(rows)), squeeze=False)
    side = int(round(original[0].numel() ** 0.5))
    for r, (title, images) in enumerate(rows):
        for c in range(count):
            image = images[c].reshape(-1)
            axes[r, c].imshow(image.reshape(side, side).numpy() if side * side == image.numel()
                              else image.reshape(1, -1).numpy(), cmap="gray", vmin=0, vmax=1)
            axes[r, c].axis("off")
        axes[r, 0].text(-0.15, 0.5, title, transform=axes[r, 0].transAxes, ha="right", va="center", fontsize=7)
    figure.subplots_adjust(left=0.25, wspace=0.05, hspace=0.1)
    return figure


def _score(outputs: torch.Tensor, evaluator, task: str) -> float:
    if task == "classification":
        labels = evaluator.labels()
        return (outputs.argmax(-1) == labels).double().mean().item()
    target = evaluator.tensors()["x"].to(outputs.dtype)
    return F.mse_loss(outputs.flatten(1), target.flatten(1)).item()


def _matrix_figure(matrices: dict, task: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(matrices), figsize=(4.2 * len(matrices), 3.8), squeeze=False)
    what = "accuracy" if task == "classification" else "MSE"
    if task == "classification":
        limits = {"vmin": 0.0, "vmax": 1.0}
    else:
        top = max(m.max().item() for _, m in matrices.values())
        limits = {"vmin": 0.0, "vmax": top}
    for axis, (label, (names, matrix)) in zip(axes.flat, matrices.items()):
        image = axis.imshow(matrix.numpy(), cmap="viridis" if task == "classification" else "magma_r", **limits)
        for i, j in itertools.product(range(len(names)), repeat=2):
            value = matrix[i, j].item()
            level = (value - limits["vmin"]) / max(limits["vmax"] - limits["vmin"], 1e-12)
            dark = level < 0.5 if task == "classification" else level > 0.5  # viridis / magma_r
            axis.text(j, i, f"{value:.2f}" if task == "classification" else f"{value:.3f}",
                      ha="center", va="center", fontsize=7, color="white" if dark else "black")
        axis.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
        axis.set_yticks(range(len(names)), names, fontsize=7)
        axis.set_xlabel("head (decoder) from")
        axis.set_ylabel("encoder from")
        axis.set_title(f"{label}: stitched {what}", fontsize=9)
        figure.colorbar(image, ax=axis, fraction=0.046)
    figure.tight_layout()
    return figure


# ---------------------------------------------------------------------------------------------
# Cross-space similarity and retrieval
# ---------------------------------------------------------------------------------------------


def retrieval_scores(x: torch.Tensor, y: torch.Tensor, k: int = 5) -> dict[str, float]:
    """Cosine, MRR@k and Jaccard@k between two spaces of the same N samples (row n = sample n).

    As the official ``evaluate_retrieval``: Y's rows are L2-normalised and indexed; X_n (and
    Y_n) are searched in that index by cosine similarity.
    """
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"the two spaces must hold the same samples, found {x.shape[0]} and {y.shape[0]} rows")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"cosine across spaces needs equal dimensions, found {x.shape[1]} and {y.shape[1]}")
    size = x.shape[0]
    if not 0 < k <= size:
        raise ValueError(f"k must be in [1, {size}] (the number of samples), found {k}")
    xn = F.normalize(x.double(), p=2, dim=-1)
    yn = F.normalize(y.double(), p=2, dim=-1)
    cosine = (xn * yn).sum(-1).mean().item()
    actual = (xn @ yn.T).topk(k, dim=-1).indices      # top_k(X_n) in the Y index
    target = (yn @ yn.T).topk(k, dim=-1).indices      # top_k(Y_n) in the Y index
    own = torch.arange(size).unsqueeze(1)
    hits = actual == own
    rank = hits.double().argmax(-1) + 1
    mrr = torch.where(hits.any(-1), 1.0 / rank, torch.zeros_like(rank, dtype=torch.float64)).mean().item()
    common = (actual.unsqueeze(2) == target.unsqueeze(1)).any(-1).sum(-1).double()
    jaccard = (common / (2 * k - common)).mean().item()
    return {"cosine": cosine, "mrr": mrr, "jaccard": jaccard}


@attrs.frozen
class LatentSimilarityConfig:
    k: int = option(5, "k of MRR@k and Jaccard@k (official evaluation: 5)", gt=0)
    spaces: str = option("both", "which spaces to compare", choices=("both", "absolute", "relative"))
    prefix: str = option("", "prefix of the reported names")
    figure: bool = option(True, "return a bar chart 'latent_similarity'")


def _latents(model, batch):
    return model.encode(batch["x"])


def latent_similarity(config: LatentSimilarityConfig, ctx):
    """Mean over ordered model pairs (i ≠ j) of Cosine, MRR@k and Jaccard@k, absolute (``abs_*``)
    and relative (``rel_*``) spaces."""

    def metric(evaluator) -> dict:
        models = collect_models(evaluator, "relreps.latent_similarity")
        names = list(models)
        reference = models[names[0]].anchors.cpu()
        spaces: dict[str, dict[str, torch.Tensor]] = {"abs": {}, "rel": {}}
        for name in names:
            model = models[name]
            anchors = model.anchors.cpu()
            if anchors.shape != reference.shape or not torch.equal(anchors, reference):
                raise UserError(f"relreps.latent_similarity: model '{name}' has other anchor inputs than "
                                f"'{names[0]}'; relative spaces are comparable only with parallel anchors")
            latents = evaluator.predict(_latents, model=model)
            anchor_latents = evaluator.predict(_latents, model=model, tensors={"x": anchors})
            spaces["abs"][name] = latents
            spaces["rel"][name] = relative_projection(latents, anchor_latents, "cosine")
        wanted = {"both": ("abs", "rel"), "absolute": ("abs",), "relative": ("rel",)}[config.spaces]
        dims = {t.shape[1] for t in spaces["abs"].values()}
        if "abs" in wanted and len(dims) > 1:
            wanted = tuple(w for w in wanted if w != "abs")  # absolute cosine needs equal d
            if not wanted:
                raise UserError(f"relreps.latent_similarity: the models' latent dimensions differ {sorted(dims)}; "
                                "absolute spaces cannot be compared (use spaces = 'relative')")
        values: dict = {}
        per_pair: dict[str, dict[str, list[float]]] = {}
        for space in wanted:
            scores: dict[str, list[float]] = {"cosine": [], "mrr": [], "jaccard": []}
            for a, b in itertools.permutations(names, 2):
                for key, value in retrieval_scores(spaces[space][a], spaces[space][b], config.k).items():
                    scores[key].append(value)
            per_pair[space] = scores
            values[_name(config.prefix, f"{space}_cosine")] = sum(scores["cosine"]) / len(scores["cosine"])
            values[_name(config.prefix, f"{space}_mrr@{config.k}")] = sum(scores["mrr"]) / len(scores["mrr"])
            values[_name(config.prefix, f"{space}_jaccard@{config.k}")] = sum(scores["jaccard"]) / len(scores["jaccard"])
        if config.figure:
            values["figures"] = {_name(config.prefix, "latent_similarity"): _bar_figure(per_pair, config.k)}
        return values

    return metric


def _bar_figure(per_pair: dict, k: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = ("cosine", "mrr", "jaccard")
    labels = ("Cosine", f"MRR@{k}", f"Jaccard@{k}")
    figure, axis = plt.subplots(figsize=(5, 3.2))
    width = 0.8 / max(1, len(per_pair))
    for offset, (space, scores) in enumerate(per_pair.items()):
        means = [torch.tensor(scores[key]).mean().item() for key in keys]
        stds = [torch.tensor(scores[key]).std().item() if len(scores[key]) > 1 else 0.0 for key in keys]
        axis.bar([i + offset * width for i in range(len(keys))], means, width, yerr=stds, capsize=3,
                 label={"abs": "absolute", "rel": "relative"}[space])
    axis.set_xticks([i + width * (len(per_pair) - 1) / 2 for i in range(len(keys))], labels)
    axis.set_ylabel("mean over ordered model pairs")
    axis.axhline(0.0, color="black", linewidth=0.5)
    axis.legend(fontsize=8)
    axis.set_title("similarity of latent spaces across runs", fontsize=9)
    figure.tight_layout()
    return figure
