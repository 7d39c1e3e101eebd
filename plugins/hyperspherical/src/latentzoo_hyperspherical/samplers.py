"""Episode sampler: N-way K-shot training episodes for the prototypical-network baseline.

Episodic training (Vinyals et al. 2016, arXiv 1606.04080; Snell et al. 2017, Alg. 1): each
step draws N classes of the training split, then K support and Q query examples of each,
without replacement. The sampler replaces the loop's batch with the episode; it draws with the
global torch RNG, so a resumed run (whose checkpoint holds every process's RNG state) draws the
same episodes as an unbroken one, and each process draws its own episodes.

Episode layout: ``x`` is [support of class 1..N (K each); queries of class 1..N (Q each)],
``y`` the episode label 0..N−1, ``support`` a boolean mask, ``label`` the dataset label.
"""

from __future__ import annotations

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError


@attrs.frozen
class EpisodeConfig:
    ways: int = option(5, "classes per episode N", gt=1)
    shots: int = option(5, "support examples per class K", gt=0)
    queries: int = option(8, "query examples per class Q", gt=0)
    split: str = option("train", "split the episodes are drawn from")


class EpisodeSampler:
    """``sampler(batch) -> episode``, drawn from ``ctx.splits[split]`` with the global RNG."""

    def __init__(self, config: EpisodeConfig, ctx):
        if ctx is None or ctx.splits is None:
            raise UserError("hyperspherical.episodes draws from the stage's data, but the stage has none")
        tensors = ctx.splits.split(config.split)
        if "y" not in tensors:
            raise UserError(f"hyperspherical.episodes needs labels 'y' in split '{config.split}'")
        self.config = config
        self.x = tensors["x"]
        labels = self.labels = tensors["y"]
        self.classes = torch.unique(labels)
        if config.ways > len(self.classes):
            raise UserError(f"ways = {config.ways} but split '{config.split}' has only "
                            f"{len(self.classes)} classes")
        self.members = [torch.nonzero(labels == c).flatten() for c in self.classes]
        need = config.shots + config.queries
        smallest = min(len(m) for m in self.members)
        if need > smallest:
            raise UserError(f"shots + queries = {need} but the smallest class of split "
                            f"'{config.split}' has {smallest} examples")

    @property
    def episode_size(self) -> int:
        return self.config.ways * (self.config.shots + self.config.queries)

    def draw_indices(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(dataset indices, episode labels) in episode layout, from the global RNG."""
        ways, shots, queries = self.config.ways, self.config.shots, self.config.queries
        chosen = torch.randperm(len(self.classes))[:ways]
        picks = []
        for c in chosen.tolist():
            members = self.members[c]
            picks.append(members[torch.randperm(len(members))[: shots + queries]])
        picks = torch.stack(picks)  # (N, K + Q)
        index = torch.cat([picks[:, :shots].reshape(-1), picks[:, shots:].reshape(-1)])
        episode = torch.arange(ways)
        labels = torch.cat([episode.repeat_interleave(shots), episode.repeat_interleave(queries)])
        return index, labels

    def __call__(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        device = batch["x"].device if "x" in batch else "cpu"
        index, labels = self.draw_indices()
        support = torch.zeros(len(index), dtype=torch.bool)
        support[: self.config.ways * self.config.shots] = True
        return {"x": self.x[index].to(device), "y": labels.to(device), "support": support.to(device),
                "label": self.labels[index].to(device)}
