"""Evaluation over whole splits, in any number of processes.

A metric is called as ``metric(evaluator)``. :meth:`Evaluator.predict` shards a split across
processes, runs a function over each shard in batches, gathers the outputs and restores the
dataset order, so that a metric sees exactly what a single process would see, whatever the
world size and whether or not the split size divides evenly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from latentzoo.data import DataSplits, index_batch, shard_indices, to_device, unshard
from latentzoo.errors import UserError


def representation(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """``model.embed(x)`` where the model defines it, else ``model(x)``."""
    embed = getattr(model, "embed", None)
    return embed(batch["x"]) if callable(embed) else model(batch["x"])


def forward(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    return model(batch["x"])


class Evaluator:
    """What a metric sees: models, data, samples, and distributed ``predict``.

    Attributes:
        model: the model under evaluation (``None`` in a stage without one).
        models: further models by stage name (``evaluate`` stage's ``models``).
        data: the stage's :class:`DataSplits` (``None`` where the stage has no data).
        split: the split metrics use by default.
        samples: generated samples (``generate`` stage), in every process.
        step: the training step (``None`` outside training).
        loss: the stage's loss module during training (``None`` elsewhere), for metrics that
            read its state (a temperature, a teacher).
    """

    def __init__(self, accelerator, model: nn.Module | None = None, data: DataSplits | None = None,
                 split: str = "test", models: dict[str, nn.Module] | None = None,
                 samples: torch.Tensor | None = None, batch_size: int = 256,
                 step: int | None = None, artifacts: dict[str, Any] | None = None,
                 loss: nn.Module | None = None, sampler: Any = None):
        self.accelerator = accelerator
        self.model = model
        self.models = models or {}
        self.data = data
        self.split = split
        self.samples = samples
        self.batch_size = batch_size
        self.step = step
        self.artifacts = artifacts or {}
        self.loss = loss
        self.sampler = sampler  # the generate stage's sampler (for cost metrics: evaluations, time)
        self._cache: dict[tuple, torch.Tensor] = {}

    @property
    def device(self):
        return self.accelerator.device

    def tensors(self, split: str | None = None) -> dict[str, torch.Tensor]:
        if self.data is None:
            raise UserError("this metric needs data, but the stage has none (set 'data')")
        return self.data.split(split or self.split)

    def labels(self, split: str | None = None) -> torch.Tensor:
        tensors = self.tensors(split)
        if "y" not in tensors:
            raise UserError(f"this metric needs labels 'y', but split '{split or self.split}' has "
                            f"only {', '.join(tensors)}")
        return tensors["y"]

    @torch.no_grad()
    def predict(self, fn: Callable[[nn.Module, dict], torch.Tensor] = forward,
                split: str | None = None, model: nn.Module | None = None,
                tensors: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """``fn(model, batch)`` over a whole split (or ``tensors``), gathered in dataset order, on CPU."""
        model = self.model if model is None else model
        tensors = self.tensors(split) if tensors is None else tensors
        size = len(next(iter(tensors.values())))
        rank, world = self.accelerator.process_index, self.accelerator.num_processes
        index = shard_indices(size, rank, world)
        was_training = model.training if model is not None else False
        if model is not None:
            model.eval()
        outputs = []
        try:
            for start in range(0, len(index), self.batch_size):
                batch = to_device(index_batch(tensors, index[start: start + self.batch_size]), self.device)
                with self.accelerator.autocast():
                    outputs.append(fn(model, batch).float())
        finally:
            if model is not None:
                model.train(was_training)
        local = torch.cat(outputs)
        if world > 1:
            local = self.accelerator.gather(local.contiguous())
        return unshard(local, size, world).cpu()

    def features(self, split: str | None = None, model: nn.Module | None = None) -> torch.Tensor:
        """Representations (``embed`` or forward) of a split, cached per model and split."""
        model = self.model if model is None else model
        key = (id(model), split or self.split)
        if key not in self._cache:
            self._cache[key] = self.predict(representation, split, model)
        return self._cache[key]
