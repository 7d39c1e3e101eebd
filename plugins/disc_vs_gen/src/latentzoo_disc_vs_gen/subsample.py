"""Training subsets of size m: uniform draws without replacement that contain every class.

Zheng et al., arXiv:2302.02334, Sec. 5 (official ``main_train_offline.py``,
``train_fix_m_no_sgd``): m points are drawn uniformly without replacement from the training
pool; a draw that misses one of the K classes is discarded and drawn again; ``repeat``
independent draws are made for each m (5 officially). The curve stage asks the sampler for
indices (:meth:`SubsampleM.draw`); used as a training-batch sampler, ``sampler(batch)`` keeps m
of the batch's rows under the same rule.
"""

from __future__ import annotations

import attrs
import numpy as np
import torch
from latentzoo.config import option
from latentzoo.errors import UserError

__all__ = ["SubsampleM", "SubsampleMConfig", "draw_with_every_class"]


def draw_with_every_class(labels: np.ndarray, m: int, rng: np.random.Generator,
                          max_redraws: int = 1000) -> np.ndarray:
    """Indices of m rows drawn uniformly without replacement, redrawn until all classes appear."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    if m > len(labels):
        raise UserError(f"cannot draw m = {m} points from a pool of {len(labels)}")
    if m < len(classes):
        raise UserError(f"m = {m} is smaller than the number of classes ({len(classes)}): "
                        "no draw can contain every class")
    for _ in range(max_redraws):
        index = rng.choice(len(labels), size=m, replace=False)
        if len(np.unique(labels[index])) == len(classes):
            return index
    raise UserError(f"no draw of m = {m} points out of {len(labels)} contained all {len(classes)} "
                    f"classes in {max_redraws} tries; use a larger m or raise max_redraws")


@attrs.frozen
class SubsampleMConfig:
    m: int = option(32, "points kept per draw when used as a training-batch sampler "
                        "(the curve stage sets m from its grid)", gt=0)
    max_redraws: int = option(1000, "give up after this many draws that miss a class", gt=0)


class SubsampleM:
    """Draws of m points that contain every class (see module docstring)."""

    def __init__(self, config: SubsampleMConfig, ctx=None):
        self.m = config.m
        self.max_redraws = config.max_redraws
        self.rng = np.random.default_rng(getattr(ctx, "seed", 0))

    def draw(self, labels, m: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Indices into ``labels`` of one draw of m points with every class present."""
        labels = labels.cpu().numpy() if torch.is_tensor(labels) else np.asarray(labels)
        return draw_with_every_class(labels, m, rng if rng is not None else self.rng, self.max_redraws)

    def __call__(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if "y" not in batch:
            raise UserError("disc_vs_gen.subsample_m needs labels 'y' in the batch")
        m = min(self.m, len(batch["y"]))
        index = torch.as_tensor(self.draw(batch["y"], m), device=batch["y"].device)
        return {key: value[index] for key, value in batch.items()}

