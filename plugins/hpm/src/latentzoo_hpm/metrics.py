"""Diagnostics of HPM's mechanism on held-out images (arXiv 2312.13714; the spec's diagnostics).

- ``hpm.rank_acc``: does the loss predictor know which patches are hard? On each test image
  a random mask (ratio 0.75) is drawn; the model reconstructs and predicts ŝ for its masked
  patches; the score is the fraction of ordered pairs (i, j) with ℓ_i > ℓ_j for which
  ŝ_i > ŝ_j, pooled over all images (pairs with tied ℓ left out). 0.5 is chance.
- ``hpm.mask_hardness``: are the loss-chosen masks harder? ``L_rec(hard mask) / L_rec(random
  mask)`` on the test images, the hard mask made as in training at α = 0.5 (top ⌊N_mask / 2⌋
  patches by the model's own full-image ŝ, the rest random). Also reports both losses.

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

__all__ = ["MaskHardnessConfig", "RankAccuracyConfig", "mask_hardness", "rank_accuracy", "rank_acc"]


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
