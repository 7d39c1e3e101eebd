"""Read-outs of a trained cMIM / MIM / VAE encoder–decoder (arXiv 2502.19642).

Informative embeddings (the paper's training-free read-out; the exact layers and pooling are
not in the available text, so this form is our reconstruction, R): decode from the posterior
mean and concatenate the decoder's hidden activations to it,

    e(x) = concat[ μ(x), h_1(μ(x)), …, h_{L−1}(μ(x)) ]                                  (IE)

deterministic (μ, no sampling), of dimension d_z + Σ hidden widths. For autoregressive
decoders the paper mean-pools hidden states under teacher forcing; our decoders are MLPs, so
there is one hidden vector per layer.

``cmim.informative_embedding`` fits a logistic-regression probe and a k-NN classifier
(sklearn) on standardised features of the train split and scores them on the evaluation
split, for e(x) (``representation = "informative"``) or for μ(x) alone (``"mean"``), with
exactly the same procedure, so that the two are comparable.

``cmim.reconstruction`` is the mean squared error per pixel between x and the mean of
p(x | z = μ(x)).

``cmim.latent_map`` is a figure, no scalars: the evaluation split's posterior means μ(x)
projected to 2-D by a PCA fitted on the train split's μ (sklearn, full SVD: deterministic),
one colour per class; and the first ``num_images`` evaluation images above their
reconstructions (the mean of p(x | z = μ(x))) on the data's fixed pixel range. The panels are
annotated with the reconstruction MSE of the whole evaluation split (the value of
``cmim.reconstruction``) and the share of the evaluation split's μ variance the two train
components explain.
"""

from __future__ import annotations

import math

import attrs
import numpy as np
import torch
from latentzoo.config import option
from latentzoo.errors import UserError, require
from torch import nn

__all__ = ["informative_embedding", "InformativeEmbeddingConfig", "informative_probe",
           "ReconstructionConfig", "reconstruction", "ContrastiveTermConfig", "contrastive_term",
           "LatentMapConfig", "latent_map", "image_grid"]

_HINT = "pip install scikit-learn (a dependency of latentzoo-cmim)"


def _check_autoencoder(model: nn.Module | None, who: str) -> None:
    if model is None or not callable(getattr(model, "decoder_hidden", None)) \
            or not callable(getattr(model, "encode", None)):
        raise UserError(f"{who} needs an encoder–decoder with encode() and decoder_hidden() such as "
                        f"cmim.autoencoder; found {type(model).__name__}")


def informative_embedding(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """(IE): [μ(x), decoder hidden activations at μ(x)], (B, d_z + Σ widths)."""
    mu = model.encode(x)[0]
    return torch.cat([mu, *model.decoder_hidden(mu)], dim=1)


@attrs.frozen
class InformativeEmbeddingConfig:
    representation: str = option("informative", "features: e(x) of (IE), or μ(x) alone",
                                 choices=("informative", "mean"))
    k: int = option(5, "neighbours of the k-NN classifier", gt=0)
    c: float = option(1.0, "inverse L2 strength of the logistic-regression probe", gt=0)
    max_iter: int = option(2000, "solver iterations of the probe", gt=0)
    standardize: bool = option(True, "standardise features with train-split statistics")
    train_split: str = option("train", "split the probe and k-NN are fitted on")
    prefix: str = option("", "prefix of the reported names (default: '<representation>_')")


def informative_probe(config: InformativeEmbeddingConfig, ctx):
    linear_model = require("sklearn.linear_model", "full", "cmim.informative_embedding", _HINT)
    neighbors = require("sklearn.neighbors", "full", "cmim.informative_embedding", _HINT)
    prefix = config.prefix or f"{config.representation}_"

    def features(model, batch):
        if config.representation == "mean":
            return model.encode(batch["x"])[0]
        return informative_embedding(model, batch["x"])

    def metric(evaluator) -> dict[str, float]:
        _check_autoencoder(evaluator.model, "cmim.informative_embedding")
        train = evaluator.predict(features, config.train_split).numpy().astype(np.float64)
        test = evaluator.predict(features).numpy().astype(np.float64)
        if config.standardize:
            mean, std = train.mean(0), train.std(0) + 1e-8
            train, test = (train - mean) / std, (test - mean) / std
        y_train = evaluator.labels(config.train_split).numpy()
        y_test = evaluator.labels().numpy()
        probe = linear_model.LogisticRegression(C=config.c, max_iter=config.max_iter)
        probe.fit(train, y_train)
        knn = neighbors.KNeighborsClassifier(n_neighbors=config.k)
        knn.fit(train, y_train)
        return {f"{prefix}linear_probe": float(probe.score(test, y_test)),
                f"{prefix}knn_accuracy": float(knn.score(test, y_test)),
                f"{prefix}dim": float(train.shape[1])}

    return metric


@attrs.frozen
class ReconstructionConfig:
    prefix: str = option("", "prefix of the reported name ('<prefix>reconstruction_mse')")


def reconstruction(config: ReconstructionConfig, ctx):
    def per_example(model, batch):
        x = batch["x"]
        recon = model.reconstruct(model.encode(x)[0])
        return ((recon - x) ** 2).flatten(1).mean(1)

    def metric(evaluator) -> dict[str, float]:
        model = evaluator.model
        if model is None or not callable(getattr(model, "reconstruct", None)):
            raise UserError("cmim.reconstruction needs an auto-encoder with reconstruct() such as "
                            f"cmim.autoencoder; found {type(model).__name__}")
        return {f"{config.prefix}reconstruction_mse": evaluator.predict(per_example).mean().item()}

    return metric


@attrs.frozen
class ContrastiveTermConfig:
    temperature: float = option(0.1, "temperature τ of the contrastive factor (C1)", gt=0)
    batch_size: int = option(64, "codes contrasted together (the training batch size)", gt=1)
    prefix: str = option("", "prefix of the reported name ('<prefix>contrastive_term')")


def contrastive_term(config: ContrastiveTermConfig, ctx):
    """L_con = −mean_i log p(k=1|μ_i, x_i) of (C1) on the posterior means of the evaluation
    split, in consecutive chunks of ``batch_size``: how well each code is told apart from the
    others (0 = perfectly; log 2 = all codes parallel). A diagnostic of the contrastive term's
    size, for every arm (also those that do not train it)."""
    from latentzoo_cmim.losses import contrastive_log_prob, cosine_logits

    def metric(evaluator) -> dict[str, float]:
        model = evaluator.model
        if model is None or not callable(getattr(model, "encode", None)):
            raise UserError("cmim.contrastive_term needs an encoder with encode() such as "
                            f"cmim.autoencoder; found {type(model).__name__}")
        mu = evaluator.predict(lambda m, batch: m.encode(batch["x"])[0]).double()
        terms = [-contrastive_log_prob(cosine_logits(chunk, config.temperature))
                 for chunk in mu.split(config.batch_size) if len(chunk) > 1]
        return {f"{config.prefix}contrastive_term": torch.cat(terms).mean().item()}

    return metric


@attrs.frozen
class LatentMapConfig:
    num_images: int = option(10, "evaluation images shown with their reconstructions (the first ones)", gt=0)
    pixel_range: tuple[float, ...] = option((0.0, 1.0), "fixed grey scale [low, high] of the images "
                                            "(digits/16 lie in [0, 1])")
    train_split: str = option("train", "split the PCA is fitted on")
    name: str = option("latent_map", "figure name (figures/<name>.png)")


def _image_side(shape: tuple[int, ...]) -> tuple[int, int]:
    """(H, W) of one image: the last two dimensions, or a square for a flat vector."""
    if len(shape) >= 2:
        return int(shape[-2]), int(shape[-1])
    side = math.isqrt(int(shape[0]))
    return (side, side) if side * side == shape[0] else (1, int(shape[0]))


def image_grid(images: torch.Tensor, side: tuple[int, int]) -> np.ndarray:
    """(n, ...) images side by side as one (H, n·W + n − 1) array, NaN columns between them
    (channels averaged)."""
    height, width = side
    tiles = images.reshape(len(images), -1, height, width).mean(1).numpy().astype(np.float64)
    grid = np.full((height, len(tiles) * (width + 1) - 1), np.nan)
    for i, tile in enumerate(tiles):
        grid[:, i * (width + 1): i * (width + 1) + width] = tile
    return grid


def _draw_latent_map(points, labels, explained, originals, recons, side, mse, pixel_range):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (scatter, pictures) = plt.subplots(2, 1, figsize=(6.0, 7.4), layout="constrained",
                                               gridspec_kw={"height_ratios": [4.0, 1.3]})
    colours = plt.get_cmap("tab10")
    for label in np.unique(labels):                      # one colour per class, the same in every arm
        chosen = labels == label
        scatter.scatter(points[chosen, 0], points[chosen, 1], s=7, alpha=0.75, color=colours(int(label) % 10),
                        label=str(label))
    scatter.legend(title="class", fontsize=7, title_fontsize=8, markerscale=2, loc="center left",
                   bbox_to_anchor=(1.0, 0.5), frameon=False)
    scatter.set_xlabel("PC 1")
    scatter.set_ylabel("PC 2")
    scatter.set_title(f"test-split codes μ(x) ({len(points)}), PCA fitted on train μ", fontsize=9)
    scatter.text(0.02, 0.98, f"2 PCs explain {100 * explained:.1f}% of the test μ variance",
                 transform=scatter.transAxes, va="top", fontsize=8,
                 bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
    cmap = plt.get_cmap("gray").with_extremes(bad="white")
    low, high = pixel_range
    height, right = side[0], len(originals) * (side[1] + 1) - 1.5
    rows = [(originals, (-0.5, right, height - 0.5, -0.5)),                   # inputs on top
            (recons, (-0.5, right, 2 * height + 0.5, height + 0.5))]          # reconstructions below
    for images, extent in rows:
        pictures.imshow(np.ma.masked_invalid(image_grid(images, side)), cmap=cmap, vmin=low, vmax=high,
                        extent=extent)
    pictures.set_xlim(-0.5, right)
    pictures.set_ylim(2 * height + 0.5, -0.5)
    pictures.set_yticks([height / 2 - 0.5, 1.5 * height + 0.5], ["input", "reconstruction\nfrom μ"])
    pictures.set_xticks([])
    pictures.set_title(f"first {len(originals)} test images and the decoder's mean at μ "
                       f"(grey scale fixed to [{low:g}, {high:g}])", fontsize=9)
    pictures.set_xlabel(f"reconstruction MSE per pixel, whole test split: {mse:.5f}", fontsize=8)
    figure.suptitle("Frozen encoder, test split: 2-D PCA of μ(x) by class;\n"
                    "reconstructions from μ", fontsize=10)
    return figure


def latent_map(config: LatentMapConfig, ctx):
    """A figure: 2-D PCA of the evaluation split's μ(x) (fitted on the train split), one colour
    per class, and the first images with their reconstructions from μ."""
    decomposition = require("sklearn.decomposition", "full", "cmim.latent_map", _HINT)
    if len(config.pixel_range) != 2 or not config.pixel_range[0] < config.pixel_range[1]:
        raise UserError(f"cmim.latent_map: pixel_range must be [low, high] with low < high, "
                        f"got {list(config.pixel_range)}")

    def per_example(model, batch):
        x = batch["x"]
        mu = model.encode(x)[0]
        recon = model.reconstruct(mu)
        return torch.cat([mu, ((recon - x) ** 2).flatten(1).mean(1, keepdim=True),
                          recon.flatten(1)], dim=1)

    def metric(evaluator) -> dict:
        model = evaluator.model
        _check_autoencoder(model, "cmim.latent_map")
        if not callable(getattr(model, "reconstruct", None)):
            raise UserError("cmim.latent_map needs an auto-encoder with reconstruct() such as "
                            f"cmim.autoencoder; found {type(model).__name__}")
        train_mu = evaluator.predict(lambda m, batch: m.encode(batch["x"])[0], config.train_split)
        test = evaluator.predict(per_example)
        labels = evaluator.labels().numpy()
        if not evaluator.accelerator.is_main_process:   # every process predicts, one draws
            return {}
        d = train_mu.shape[1]
        if d < 2 or len(train_mu) < 2:
            raise UserError(f"cmim.latent_map needs codes of at least 2 dimensions and 2 train "
                            f"examples; found d_z = {d}, {len(train_mu)} examples")
        mu, mse, recons = test[:, :d].double().numpy(), test[:, d].mean().item(), test[:, d + 1:]
        pca = decomposition.PCA(n_components=2, svd_solver="full").fit(train_mu.double().numpy())
        points = pca.transform(mu)
        centred = mu - mu.mean(0)
        explained = float(((points - points.mean(0)) ** 2).sum() / max((centred ** 2).sum(), 1e-300))
        count = min(config.num_images, len(mu))
        originals = evaluator.tensors()["x"][:count].float().cpu()
        side = _image_side(tuple(originals.shape[1:]))
        figure = _draw_latent_map(points, labels, explained, originals, recons[:count], side, mse,
                                  tuple(config.pixel_range))
        return {"figures": {config.name: figure}}

    return metric
