"""The episode sampler: layout, no replacement, reproducible from the global RNG."""

import pytest
import torch
from latentzoo.build import BuildContext
from latentzoo.data import DataInfo, DataSplits
from latentzoo.errors import UserError
from latentzoo_hyperspherical.samplers import EpisodeConfig, EpisodeSampler


def make_context(per_class=(6, 6, 6, 4)):
    labels = torch.cat([torch.full((n,), c) for c, n in enumerate(per_class)])
    x = torch.arange(len(labels), dtype=torch.float32)[:, None]  # x encodes the index
    splits = DataSplits({"train": {"x": x, "y": labels}, "test": {"x": x, "y": labels}},
                        DataInfo((1,), len(per_class)))
    return BuildContext(data=splits.info, splits=splits)


def test_episode_layout():
    ctx = make_context()
    sampler = EpisodeSampler(EpisodeConfig(ways=3, shots=2, queries=2), ctx)
    torch.manual_seed(0)
    episode = sampler({"x": torch.zeros(4, 1), "y": torch.zeros(4, dtype=torch.long)})
    assert episode["x"].shape == (12, 1) and sampler.episode_size == 12
    assert episode["support"].tolist() == [True] * 6 + [False] * 6
    assert episode["y"].tolist() == [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2]
    index = episode["x"].flatten().long()
    assert len(set(index.tolist())) == 12  # no example drawn twice
    true = ctx.splits.split("train")["y"][index]
    assert torch.equal(true, episode["label"])
    # one dataset class per episode label, three distinct classes
    mapping = {int(e): set(true[episode["y"] == e].tolist()) for e in range(3)}
    assert all(len(v) == 1 for v in mapping.values())
    assert len(set.union(*mapping.values())) == 3


def test_episodes_reproduce_from_the_global_rng():
    sampler = EpisodeSampler(EpisodeConfig(ways=2, shots=1, queries=3), make_context())
    batch = {"x": torch.zeros(1, 1)}
    torch.manual_seed(7)
    first = [sampler(batch)["x"] for _ in range(3)]
    torch.manual_seed(7)
    again = [sampler(batch)["x"] for _ in range(3)]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], first[1])


def test_episode_sampler_errors():
    ctx = make_context()
    with pytest.raises(UserError, match="ways = 5"):
        EpisodeSampler(EpisodeConfig(ways=5), ctx)
    with pytest.raises(UserError, match="smallest class"):
        EpisodeSampler(EpisodeConfig(ways=2, shots=3, queries=2), ctx)  # class 3 has 4
