"""Diagnostics of HPM's mechanism on held-out images (arXiv 2312.13714; the spec's diagnostics).

- ``hpm.rank_acc``: does the loss predictor know which patches are hard? On each test image
  a random mask (ratio 0.75) is drawn; the model reconstructs and predicts ŝ for its masked
  patches; the score is the fraction of ordered pairs (i, j) with ℓ_i > ℓ_j for which
  ŝ_i > ŝ_j, pooled over all images (pairs with tied ℓ left out). 0.5 is chance.
- ``hpm.mask_hardness``: are the loss-chosen masks harder? ``L_rec(hard mask) / L_rec(random
  mask)`` on the test images, the hard mask made as in training at α = 0.5 (top ⌊N_mask / 2⌋
  patches by the model's own full-image ŝ, the rest random). Also reports both losses.
- ``hpm.patch_map``: a figure of the mechanism on a few fixed test images, one row each: the
  image; the true per-patch reconstruction loss ℓ under a seeded random mask (masked patches
  only); the predictor's ŝ for the same masked patches (the masked forward pass, as trained);
  the top-k patches by the model's own full-image ŝ (what ``hard_patch_mask`` picks). No
  scalars: the pooled ordering is ``hpm.rank_acc``; each row's own rank accuracy is printed
  under its ŝ panel.

The masks come from a seeded generator over the whole split (before sharding), so the values
are the same in 1 or N processes and across arms.
"""

from __future__ import annotations

import attrs
import torch

from latentzoo.config import option
from latentzoo.errors import UserError
from latentzoo_hpm.losses import reconstruction_loss
from latentzoo_hpm.schedule import hard_patch_mask
from latentzoo_vit.masking import masked_count
from latentzoo_vit.vit import gather_tokens

__all__ = ["MaskHardnessConfig", "PatchMapConfig", "RankAccuracyConfig", "mask_hardness", "patch_map",
           "patch_map_values", "rank_accuracy", "rank_acc"]


def _name(prefix: str, name: str) -> str:
    return f"{prefix}{name}" if prefix else name


def _check_model(model, name: str):
    if model is None or not getattr(model, "has_loss_predictor", False):
        raise UserError(f"{name} needs a model with a loss predictor (hpm.mae_vit with "
                        f"loss_predictor = true), found {type(model).__name__}")


def _noise(evaluator, seed: int) -> torch.Tensor:
    tensors = evaluator.tensors()
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(len(tensors["x"]), evaluator.model.num_patches, generator=generator)


def _masked_losses(model, images: torch.Tensor, mask: torch.Tensor, num_masked: int, predict: bool):
    out = model.forward_masked(images, mask, predict_loss=predict)
    target = gather_tokens(model.patches(images), out.masked_ids)
    _, per_patch = reconstruction_loss(out.pixels[:, -num_masked:], target)
    return per_patch, (out.loss_pred[:, -num_masked:] if predict else None)


def rank_accuracy(scores: torch.Tensor, losses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: (correctly ordered pairs, ordered pairs) over ordered pairs with ℓ_i > ℓ_j."""
    ordered = losses.unsqueeze(2) > losses.unsqueeze(1)              # [b, i, j]: ℓ_i > ℓ_j
    correct = ordered & (scores.unsqueeze(2) > scores.unsqueeze(1))
    return correct.flatten(1).sum(1), ordered.flatten(1).sum(1)


@attrs.frozen
class RankAccuracyConfig:
    mask_ratio: float = option(0.75, "share of patches masked", gt=0, lt=1)
    seed: int = option(0, "seed of the random masks")
    prefix: str = option("", "prefix of the reported name ('<prefix>rank_acc')")


def rank_acc(config: RankAccuracyConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        model = evaluator.model
        _check_model(model, "hpm.rank_acc")
        num_masked = masked_count(model.num_patches, config.mask_ratio)
        noise = _noise(evaluator, config.seed)

        def count(model, batch):
            mask = hard_patch_mask(torch.zeros_like(batch["noise"]), num_masked, 0, batch["noise"])
            losses, scores = _masked_losses(model, batch["x"], mask, num_masked, predict=True)
            return torch.stack(rank_accuracy(scores, losses), dim=1)

        counts = evaluator.predict(count, tensors={"x": evaluator.tensors()["x"], "noise": noise})
        correct, pairs = counts.sum(0).tolist()
        return {_name(config.prefix, "rank_acc"): correct / pairs if pairs else float("nan")}

    return metric


@attrs.frozen
class MaskHardnessConfig:
    mask_ratio: float = option(0.75, "share of patches masked", gt=0, lt=1)
    hard_ratio: float = option(0.5, "share of the masked patches chosen by predicted loss", gt=0, le=1)
    seed: int = option(0, "seed of the random part of the masks")
    prefix: str = option("", "prefix of the reported names")


def mask_hardness(config: MaskHardnessConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        model = evaluator.model
        _check_model(model, "hpm.mask_hardness")
        num_masked = masked_count(model.num_patches, config.mask_ratio)
        num_hard = int(num_masked * config.hard_ratio)
        noise = _noise(evaluator, config.seed)

        def losses(model, batch):
            images, draws = batch["x"], batch["noise"]
            random = hard_patch_mask(torch.zeros_like(draws), num_masked, 0, draws)
            hard = hard_patch_mask(model.predict_patch_loss(images), num_masked, num_hard, draws)
            per_random, _ = _masked_losses(model, images, random, num_masked, predict=False)
            per_hard, _ = _masked_losses(model, images, hard, num_masked, predict=False)
            return torch.stack([per_hard.mean(1), per_random.mean(1)], dim=1)

        values = evaluator.predict(losses, tensors={"x": evaluator.tensors()["x"], "noise": noise}).mean(0)
        hard, random = values.tolist()
        return {_name(config.prefix, "mask_hardness"): hard / random,
                _name(config.prefix, "rec_hard_mask"): hard,
                _name(config.prefix, "rec_random_mask"): random}

    return metric


@attrs.frozen
class PatchMapConfig:
    num_images: int = option(8, "test images drawn (the first ones of the split), one row each", gt=0)
    mask_ratio: float = option(0.75, "share of patches masked at random for the true-loss column", gt=0, lt=1)
    hard_ratio: float = option(0.5, "k = int(N_mask · hard_ratio) patches in the top-k column "
                               "(0.5: the hard part of hpm.mask_hardness's masks)", gt=0, le=1)
    seed: int = option(0, "seed of the random masks (the same draws as hpm.rank_acc's for these images)")
    name: str = option("patch_map", "figure name (figures/<name>.png)")


def patch_map_values(model, images: torch.Tensor, noise: torch.Tensor, num_masked: int,
                     num_hard: int) -> torch.Tensor:
    """(b, L, 3) in natural patch order: ℓ and ŝ under the random mask of ``noise`` (NaN on the
    visible patches), and 1.0 on the top-``num_hard`` patches by full-image ŝ (else 0.0)."""
    mask = hard_patch_mask(torch.zeros_like(noise), num_masked, 0, noise)
    out = model.forward_masked(images, mask, predict_loss=True)
    target = gather_tokens(model.patches(images), out.masked_ids)
    _, losses = reconstruction_loss(out.pixels[:, -num_masked:], target)
    scores = out.loss_pred[:, -num_masked:]
    blank = torch.full(mask.shape, float("nan"), device=images.device)
    loss_map = blank.scatter(1, out.masked_ids, losses.float())
    score_map = blank.scatter(1, out.masked_ids, scores.float())
    hard = hard_patch_mask(model.predict_patch_loss(images), num_hard, num_hard, noise)
    return torch.stack([loss_map, score_map, hard.float()], dim=2)


def _show_image(axis, image: torch.Tensor):
    """One image (C, H, W): grey for one channel, RGB for three, the channel mean otherwise."""
    image = image.float()
    if image.shape[0] == 3:
        low, high = image.min(), image.max()
        axis.imshow(((image - low) / (high - low).clamp_min(1e-12)).permute(1, 2, 0).numpy())
    else:
        axis.imshow(image.mean(0).numpy(), cmap="gray")


def _draw_patch_map(images, values, grid, num_masked: int, num_hard: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import ListedColormap

    rows, (height, width) = len(images), images.shape[-2:]
    extent = (-0.5, width - 0.5, height - 0.5, -0.5)    # patch grid drawn over the pixel grid
    loss_map, score_map, hard = (values[..., i].reshape(rows, *grid).numpy() for i in range(3))
    scales = [(np.nanmin(m), np.nanmax(m)) for m in (loss_map, score_map)]  # one scale per quantity
    figure, axes = plt.subplots(rows, 4, figsize=(8.6, 1.9 * rows + 0.6), squeeze=False,
                               layout="constrained")
    shown = [None, None]
    for row in range(rows):
        _show_image(axes[row, 0], images[row])
        axes[row, 0].set_ylabel(f"test #{row}")
        for column, (data, cmap) in enumerate([(loss_map, "viridis"), (score_map, "plasma")]):
            colours = plt.get_cmap(cmap).with_extremes(bad="0.85")   # visible patches: grey
            low, high = scales[column]
            shown[column] = axes[row, column + 1].imshow(np.ma.masked_invalid(data[row]), cmap=colours,
                                                         vmin=low, vmax=high, extent=extent)
        masked = ~values[row, :, 0].isnan()
        correct, pairs = rank_accuracy(values[row, masked, 1][None], values[row, masked, 0][None])
        axes[row, 2].set_xlabel(f"rank acc {int(correct) / max(int(pairs), 1):.2f}", fontsize=8)
        _show_image(axes[row, 3], images[row])
        axes[row, 3].imshow(np.ma.masked_equal(hard[row], 0.0), cmap=ListedColormap(["red"]), alpha=0.55,
                            vmin=0, vmax=1, extent=extent)
    titles = [f"image ({grid[0]}x{grid[1]} patches)", f"true loss ℓ\n({num_masked} random-masked)",
              "predicted ŝ\n(same patches)", f"top-{num_hard} by ŝ\n(full image, red)"]
    for column, title in enumerate(titles):
        axes[0, column].set_title(title, fontsize=9)
    for axis in axes.flat:
        axis.set_xticks([])
        axis.set_yticks([])
    figure.colorbar(shown[0], ax=list(axes[:, 1]), location="bottom", shrink=0.9, label="ℓ")
    figure.colorbar(shown[1], ax=list(axes[:, 2]), location="bottom", shrink=0.9, label="ŝ")
    return figure


def patch_map(config: PatchMapConfig, ctx):
    def metric(evaluator) -> dict:
        model = evaluator.model
        _check_model(model, "hpm.patch_map")
        num_masked = masked_count(model.num_patches, config.mask_ratio)
        num_hard = int(num_masked * config.hard_ratio)
        if num_hard < 1:
            raise UserError(f"hpm.patch_map: hard_ratio = {config.hard_ratio} of {num_masked} masked "
                            "patches selects no patch; raise hard_ratio or mask_ratio")
        images = evaluator.tensors()["x"][: config.num_images]
        noise = _noise(evaluator, config.seed)[: len(images)]   # rank_acc's draws for these images
        values = evaluator.predict(
            lambda model, batch: patch_map_values(model, batch["x"], batch["noise"], num_masked, num_hard),
            tensors={"x": images, "noise": noise})
        if not evaluator.accelerator.is_main_process:   # every process predicts, one draws
            return {}
        return {"figures": {config.name: _draw_patch_map(images.cpu(), values, model.encoder.grid,
                                                         num_masked, num_hard)}}

    return metric
