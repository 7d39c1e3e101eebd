"""Cross-entropy and mean squared error, as ``loss(model, batch)`` modules."""

from __future__ import annotations

import attrs
import torch
import torch.nn.functional as F
from torch import nn

from latentzoo.config import option


@attrs.frozen
class CrossEntropyConfig:
    label_smoothing: float = option(0.0, "label smoothing ε", ge=0, le=1)


class CrossEntropy(nn.Module):
    """``CE(model(x), y)``, averaged over the batch."""

    def __init__(self, config: CrossEntropyConfig, ctx=None):
        super().__init__()
        self.label_smoothing = config.label_smoothing

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return F.cross_entropy(model(batch["x"]), batch["y"], label_smoothing=self.label_smoothing)


@attrs.frozen
class MSEConfig:
    target: str = option("y", "batch key the output is compared with ('x' reconstructs the input)")


class MSE(nn.Module):
    """``mean((model(x) - batch[target])²)``; shapes are flattened per example."""

    def __init__(self, config: MSEConfig, ctx=None):
        super().__init__()
        self.target = config.target

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        output = model(batch["x"])
        target = batch[self.target].to(output.dtype)
        return F.mse_loss(output.flatten(1), target.flatten(1))
