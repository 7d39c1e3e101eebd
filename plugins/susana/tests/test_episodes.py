"""Episode sampler: class-major order, disjoint support/query, reproducible from the RNG."""

import pytest
import torch
from latentzoo.build import BuildContext
from latentzoo.data import DataInfo, DataSplits
from latentzoo_susana.episodes import ClassIndex, EpisodicConfig, EpisodicSampler, class_major_labels


def toy_splits(classes=4, per_class=10):
    y = torch.arange(classes).repeat(per_class)  # interleaved, so order is not trivially class-major
    x = (100 * y + torch.arange(len(y))).float().unsqueeze(1)  # x encodes (label, example id)
    return DataSplits({"train": {"x": x, "y": y}}, DataInfo(input_shape=(1,), num_classes=classes))


def test_class_major_labels_match_official_arange():
    assert class_major_labels(3, 2).tolist() == [0, 0, 1, 1, 2, 2]
    # official: torch.arange(0, way, 1 / shot).long()
    assert class_major_labels(5, 4).tolist() == torch.arange(0, 5, 1 / 4).long().tolist()


def test_episode_is_class_major_with_disjoint_support_and_query():
    splits = toy_splits()
    sampler = EpisodicSampler(EpisodicConfig(way=3, shot=2, query=4), BuildContext(data=splits.info, splits=splits))
    torch.manual_seed(0)
    episode = sampler({"x": torch.zeros(1, 1)})
    assert episode["support_x"].shape == (6, 1) and episode["query_x"].shape == (12, 1)
    assert episode["support_y"].tolist() == [0, 0, 1, 1, 2, 2]
    assert episode["query_y"].tolist() == [0] * 4 + [1] * 4 + [2] * 4
    support_class = (episode["support_x"].squeeze(1) // 100).long().view(3, 2)
    query_class = (episode["query_x"].squeeze(1) // 100).long().view(3, 4)
    # each episode class is one dataset class, the same in support and query, all distinct
    assert (support_class == support_class[:, :1]).all() and (query_class == support_class[:, :1]).all()
    assert len(set(support_class[:, 0].tolist())) == 3
    ids = episode["support_x"].flatten().tolist() + episode["query_x"].flatten().tolist()
    assert len(set(ids)) == len(ids)  # no example twice


def test_episodes_follow_the_global_rng():
    splits = toy_splits()
    sampler = EpisodicSampler(EpisodicConfig(way=2, shot=1, query=3), BuildContext(splits=splits))
    torch.manual_seed(5)
    first = sampler({"x": torch.zeros(1)})
    torch.manual_seed(5)
    again = sampler({"x": torch.zeros(1)})
    assert torch.equal(first["query_x"], again["query_x"])
    assert not torch.equal(first["query_x"], sampler({"x": torch.zeros(1)})["query_x"])


def test_fixed_generator_draws_are_reproducible():
    index = ClassIndex(toy_splits().split("train")["y"])
    a = index.draw_many(5, 3, 1, 2, torch.Generator().manual_seed(0))
    b = index.draw_many(5, 3, 1, 2, torch.Generator().manual_seed(0))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert a[0].shape == (5, 3) and a[1].shape == (5, 6)


def test_impossible_episodes_are_rejected():
    splits = toy_splits(classes=4, per_class=10)
    ctx = BuildContext(splits=splits)
    with pytest.raises(ValueError, match="only 4 classes"):
        EpisodicSampler(EpisodicConfig(way=5), ctx)
    with pytest.raises(ValueError, match="smallest class"):
        EpisodicSampler(EpisodicConfig(way=2, shot=5, query=6), ctx)
    with pytest.raises(ValueError, match="no data|has none"):
        EpisodicSampler(EpisodicConfig(), BuildContext())
