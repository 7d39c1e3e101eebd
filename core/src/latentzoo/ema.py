"""Teachers inside losses: an exponential moving average of a model, and a frozen copy.

``EMA``: ``θ_ema ← d·θ_ema + (1 − d)·θ``, used by the training loop's ``ema_decay`` option and
by losses that keep an EMA teacher (BYOL/DINO-style self-distillation, consistency targets).
``Frozen``: a fixed teacher (distillation). Both stay in eval mode when the training loop
calls ``.train()`` on the model and loss, and neither has trainable parameters.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA(nn.Module):
    """A frozen copy of ``model`` whose weights track ``model`` with decay ``decay``."""

    def __init__(self, model: nn.Module, decay: float):
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), found {decay}")
        self.decay = decay
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, decay: float | None = None) -> None:
        decay = self.decay if decay is None else decay
        for ema_param, param in zip(self.module.parameters(), model.parameters(), strict=True):
            ema_param.lerp_(param.detach(), 1.0 - decay)
        for ema_buffer, buffer in zip(self.module.buffers(), model.buffers(), strict=True):
            ema_buffer.copy_(buffer)

    def train(self, mode: bool = True):
        """The average stays in eval mode (dropout off, norm statistics frozen)."""
        self.training = mode
        self.module.eval()
        return self

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)


class Frozen(nn.Module):
    """A frozen copy of ``module`` (a teacher): no gradients, always in eval mode."""

    def __init__(self, module: nn.Module, copy_module: bool = True):
        super().__init__()
        self.module = (copy.deepcopy(module) if copy_module else module).eval().requires_grad_(False)

    def train(self, mode: bool = True):
        self.training = mode
        self.module.eval()
        return self

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)
