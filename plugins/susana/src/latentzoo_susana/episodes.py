"""N-way K-shot episodes: the training sampler ``susana.episodic`` and the evaluation draws.

An episode (ProtoNet, Snell et al. 2017; SuSana, arXiv 2305.09062, Sec. 4) draws ``way``
classes, then ``shot`` support and ``query`` query examples of each, without replacement.
Support and query are both ordered **class-major**: labels are ``arange(way)`` each repeated
``shot`` (resp. ``query``) times, as the official ``FewShotSampler`` and
``torch.arange(0, way, 1/shot)`` produce. Episode labels are the positions of the drawn
classes (0..way-1), not the dataset's labels.

Training episodes use the global torch RNG, so a checkpoint (which stores every process's RNG
state) resumes the same sequence; evaluation episodes use a ``torch.Generator`` with a fixed
seed, so every model and every process sees the same episodes.
"""

from __future__ import annotations

import attrs
import torch
from latentzoo.config import option

__all__ = ["ClassIndex", "EpisodicConfig", "EpisodicSampler", "class_major_labels"]


def class_major_labels(way: int, per_class: int, device=None) -> torch.Tensor:
    """``[0]*per_class + [1]*per_class + ...``, i.e. the official ``arange(0, way, 1/per_class)``."""
    return torch.arange(way, device=device).repeat_interleave(per_class)


class ClassIndex:
    """Dataset indices grouped by label, for drawing episodes from one split.

    Args:
        labels: (n,) integer labels of the split.
        where: names the split in error messages.
    """

    def __init__(self, labels: torch.Tensor, where: str = "split"):
        labels = torch.as_tensor(labels).long().cpu()
        self.classes = torch.unique(labels)
        self.members = [torch.nonzero(labels == c).flatten() for c in self.classes]
        self.where = where

    @property
    def min_size(self) -> int:
        return min(len(m) for m in self.members)

    def check(self, way: int, shot: int, query: int) -> None:
        """Raise ValueError if a ``way``-way ``shot``-shot ``query``-query episode cannot be drawn."""
        if way > len(self.classes):
            raise ValueError(f"way = {way} but {self.where} has only {len(self.classes)} classes "
                             f"({', '.join(str(int(c)) for c in self.classes)})")
        if shot + query > self.min_size:
            raise ValueError(f"shot + query = {shot + query} but the smallest class of {self.where} "
                             f"has {self.min_size} examples")

    def draw(self, way: int, shot: int, query: int,
             generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Dataset indices of one episode: (support (way*shot,), query (way*query,)), class-major."""
        chosen = torch.randperm(len(self.classes), generator=generator)[:way]
        per_class = []
        for c in chosen.tolist():
            members = self.members[c]
            per_class.append(members[torch.randperm(len(members), generator=generator)[: shot + query]])
        stacked = torch.stack(per_class)  # (way, shot + query)
        return stacked[:, :shot].reshape(-1), stacked[:, shot:].reshape(-1)

    def draw_many(self, episodes: int, way: int, shot: int, query: int,
                  generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``episodes`` draws stacked: (episodes, way*shot) and (episodes, way*query)."""
        draws = [self.draw(way, shot, query, generator) for _ in range(episodes)]
        return torch.stack([s for s, _ in draws]), torch.stack([q for _, q in draws])


@attrs.frozen
class EpisodicConfig:
    way: int = option(5, "classes per training episode (train_way; the paper uses 20-30, "
                      "digits have 5 base classes)", gt=1)
    shot: int = option(1, "support examples per class (S)", gt=0)
    query: int = option(15, "query examples per class (Q)", gt=0)
    split: str = option("train", "split the episodes are drawn from (the base classes)")


class EpisodicSampler:
    """Training sampler: ignores the incoming batch and returns one episode.

    The episode is ``{"support_x", "support_y", "query_x", "query_y"}``, class-major, labels in
    ``[0, way)``, on the incoming batch's device; drawn with the global torch RNG.
    """

    def __init__(self, config: EpisodicConfig, ctx):
        if ctx is None or ctx.splits is None:
            raise ValueError("susana.episodic draws episodes from the stage's data; the stage has none")
        tensors = ctx.splits.split(config.split)
        if "y" not in tensors:
            raise ValueError(f"split '{config.split}' has no labels 'y' to draw episodes by")
        self.x = tensors["x"]
        self.index = ClassIndex(tensors["y"], f"split '{config.split}'")
        self.index.check(config.way, config.shot, config.query)
        self.way, self.shot, self.query = config.way, config.shot, config.query

    def __call__(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        device = batch["x"].device if "x" in batch else torch.device("cpu")
        support, query = self.index.draw(self.way, self.shot, self.query)
        return {
            "support_x": self.x[support].to(device),
            "support_y": class_major_labels(self.way, self.shot, device),
            "query_x": self.x[query].to(device),
            "query_y": class_major_labels(self.way, self.query, device),
        }
