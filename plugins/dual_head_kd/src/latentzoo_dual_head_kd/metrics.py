"""Metrics of DHKD (arXiv:2411.08937): head-1 accuracy and the geometry of the CE head.

- ``top1_head1``: top-1 accuracy of argmax z₁, the only head used at test time (head 2 is
  discarded at inference); for a dual-head student it also reports head 2's accuracy as a
  diagnostic (``top1_head2``).
- ``head_geometry``: the neural-collapse diagnostic of Sec. 3 on the rows w_c of the CE head W₁
  (C × d): the mean pairwise cosine ``2/(C(C−1)) Σ_{c<c'} cos(w_c, w_c')`` (−1/(C−1) for a
  simplex equiangular tight frame, rising when rows align), the mean row norm and the
  coefficient of variation (population std / mean) of the row norms. The paper traces the
  failure of CE + BinaryKL on one head to this classifier, so it is compared between the CE
  baseline and the single-head ablation.
"""

from __future__ import annotations

import attrs
import torch
import torch.nn.functional as F
from latentzoo.config import option
from latentzoo.errors import UserError
from torch import nn

__all__ = ["classifier_head", "head_geometry", "head_statistics", "top1_head1"]


def _name(prefix: str, name: str) -> str:
    return f"{prefix}{name}"


@attrs.frozen
class Top1Config:
    prefix: str = option("", "prefix of the reported names ('<prefix>top1', '<prefix>top1_head2')")
    head2: bool = option(True, "also report the accuracy of head 2 where the model has one")


def _both_heads(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    forward_heads = getattr(model, "forward_heads", None)
    if forward_heads is None:
        return model(batch["x"]).unsqueeze(1)
    z1, z2 = forward_heads(batch["x"])
    return z1.unsqueeze(1) if z2 is None else torch.stack([z1, z2], dim=1)


def top1_head1(config: Top1Config, ctx):
    def metric(evaluator) -> dict[str, float]:
        logits = evaluator.predict(_both_heads)  # (N, heads, C), model in eval mode
        labels = evaluator.labels().to(logits.device)
        values = {_name(config.prefix, "top1"): (logits[:, 0].argmax(-1) == labels).float().mean().item()}
        if config.head2 and logits.shape[1] == 2:
            values[_name(config.prefix, "top1_head2")] = (
                (logits[:, 1].argmax(-1) == labels).float().mean().item())
        return values

    return metric


def classifier_head(model: nn.Module) -> nn.Linear:
    """The CE head W₁: ``model.head1`` (dual_head_kd.dual_head) or ``model.head`` (builtin models)."""
    for attribute in ("head1", "head"):
        head = getattr(model, attribute, None)
        if isinstance(head, nn.Linear):
            return head
    raise UserError(f"dual_head_kd.head_geometry needs a linear classifier 'head1' or 'head' on the "
                    f"model, and {type(model).__name__} has neither")


def head_statistics(weight: torch.Tensor) -> dict[str, float]:
    """Mean pairwise row cosine, mean row norm and row-norm coefficient of variation of W (C × d)."""
    weight = weight.detach().double().cpu()
    classes = weight.shape[0]
    if classes < 2:
        raise UserError(f"head geometry needs at least 2 classes, found {classes}")
    cosine = F.normalize(weight, dim=1) @ F.normalize(weight, dim=1).T
    pairs = torch.triu_indices(classes, classes, offset=1)
    norms = weight.norm(dim=1)
    return {"mean_cosine": cosine[pairs[0], pairs[1]].mean().item(),
            "norm_mean": norms.mean().item(),
            "norm_cv": (norms.std(unbiased=False) / norms.mean()).item()}


@attrs.frozen
class HeadGeometryConfig:
    prefix: str = option("head1_", "prefix of the reported names ('<prefix>mean_cosine', ...)")


def head_geometry(config: HeadGeometryConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        if evaluator.model is None:
            raise UserError("dual_head_kd.head_geometry needs a model (use it in a train stage or "
                            "an evaluate stage with 'model')")
        stats = head_statistics(classifier_head(evaluator.model).weight)
        return {_name(config.prefix, key): value for key, value in stats.items()}

    return metric
