"""Detector loss (OMAT, arXiv 2506.00874): BCE(σ(logit), y), y = 0 real, y = 1 fake.

ℓ = −[y·log σ(s) + (1 − y)·log(1 − σ(s))], averaged over the batch (the sigmoid head of the
official detector wrapper; ``F.binary_cross_entropy_with_logits`` for stability).
"""

from __future__ import annotations

import attrs
import torch
import torch.nn.functional as F
from latentzoo.config import option
from torch import nn

__all__ = ["BCEConfig", "DetectorBCE"]


@attrs.frozen
class BCEConfig:
    pos_weight: float = option(1.0, "weight of the fake (y = 1) term", gt=0)


class DetectorBCE(nn.Module):
    def __init__(self, config: BCEConfig, ctx=None):
        super().__init__()
        self.pos_weight = config.pos_weight

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        logit = model(batch["x"]).reshape(-1)
        y = batch["y"].float().reshape(-1)
        loss = F.binary_cross_entropy_with_logits(
            logit, y, pos_weight=torch.tensor(self.pos_weight, device=logit.device))
        accuracy = ((logit > 0).float() == y).float().mean()
        return {"loss": loss, "accuracy": accuracy.detach()}
