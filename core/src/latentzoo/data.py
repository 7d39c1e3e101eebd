"""In-memory data: splits of named tensors, a resumable batch iterator, and process sharding.

The datasets of latentzoo's CPU-scale experiments fit in memory, so batches are slices of
tensors rather than a DataLoader with workers: the hot path is one index operation per step.
In a distributed run every process draws the same permutation and takes its own slice of each
global batch; evaluation shards a split across processes and gathers the outputs back in
dataset order (see ``latentzoo.evaluation``).
"""

from __future__ import annotations

from typing import Any

import attrs
import torch

from latentzoo.errors import UserError

Batch = dict[str, torch.Tensor]


@attrs.define
class DataInfo:
    """What components need to know about the data to build themselves."""

    input_shape: tuple[int, ...]
    num_classes: int | None = None
    extras: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class DataSplits:
    """Named splits, each a dict of tensors with equal first dimension (``x``, ``y``, ...)."""

    splits: dict[str, Batch]
    info: DataInfo
    name: str = "data"

    def __attrs_post_init__(self):
        for split, tensors in self.splits.items():
            sizes = {key: len(value) for key, value in tensors.items()}
            if len(set(sizes.values())) > 1:
                raise ValueError(f"{self.name}: split '{split}' has tensors of unequal length {sizes}")

    def split(self, name: str) -> Batch:
        if name not in self.splits:
            raise UserError(
                f"data '{self.name}' has no split '{name}' (splits: {', '.join(self.splits)})")
        return self.splits[name]

    def size(self, name: str) -> int:
        return len(next(iter(self.split(name).values())))


def index_batch(tensors: Batch, index: torch.Tensor) -> Batch:
    return {key: value[index] for key, value in tensors.items()}


def to_device(batch: Batch, device) -> Batch:
    return {key: value.to(device, non_blocking=True) for key, value in batch.items()}


class BatchIterator:
    """Endless shuffled batches of one split; its position is part of a checkpoint.

    Each epoch's permutation comes from ``seed`` and the epoch number alone, so a resumed run
    continues the exact sequence. With ``world_size`` processes, each global batch of
    ``batch_size * world_size`` examples is split into per-process slices; an incomplete last
    global batch of an epoch is dropped.
    """

    def __init__(self, tensors: Batch, batch_size: int, seed: int, rank: int = 0,
                 world_size: int = 1, device: torch.device | str = "cpu"):
        self.tensors = to_device(tensors, device)
        self.size = len(next(iter(tensors.values())))
        self.batch_size = batch_size
        self.global_batch = batch_size * world_size
        if self.global_batch > self.size:
            raise UserError(
                f"batch_size {batch_size} x {world_size} process(es) = {self.global_batch} is "
                f"larger than the training split ({self.size} examples)")
        self.seed = seed
        self.rank = rank
        self.device = device
        self.epoch = 0
        self.position = 0
        self._permutation = self._draw_permutation()

    def _draw_permutation(self) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return torch.randperm(self.size, generator=generator).to(self.device)

    def __iter__(self):
        return self

    def __next__(self) -> Batch:
        if self.position + self.global_batch > self.size:
            self.epoch += 1
            self.position = 0
            self._permutation = self._draw_permutation()
        start = self.position + self.rank * self.batch_size
        index = self._permutation[start: start + self.batch_size]
        self.position += self.global_batch
        return index_batch(self.tensors, index)

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.seed = state["seed"]
        self.epoch = state["epoch"]
        self.position = state["position"]
        self._permutation = self._draw_permutation()


def shard_indices(size: int, rank: int, world_size: int) -> torch.Tensor:
    """Indices ``rank, rank + W, ...`` padded (repeating the last) to ``ceil(size / W)`` items."""
    per_process = -(-size // world_size)
    index = torch.arange(rank, size, world_size)
    if len(index) < per_process:
        pad = index[-1:] if len(index) else torch.tensor([size - 1])
        index = torch.cat([index, pad.repeat(per_process - len(index))])
    return index


def unshard(gathered: torch.Tensor, size: int, world_size: int) -> torch.Tensor:
    """Undo :func:`shard_indices` on the concatenation of every process's outputs."""
    per_process = gathered.shape[0] // world_size
    # gathered = [rank0 items..., rank1 items...]; item j of rank r is dataset index j * W + r.
    interleaved = gathered.reshape(world_size, per_process, *gathered.shape[1:]).transpose(0, 1)
    return interleaved.reshape(world_size * per_process, *gathered.shape[1:])[:size]
