"""Sharding and gathering, the batch iterator, and the builtin datasets."""

import torch
from latentzoo.build import BuildContext, build
from latentzoo.config import DataSpec, structure
from latentzoo.data import BatchIterator, shard_indices, unshard


def test_shard_then_unshard_restores_dataset_order_for_uneven_sizes():
    for size, world in ((10, 3), (7, 2), (5, 4), (4, 4), (1, 2)):
        data = torch.arange(size) * 10
        gathered = torch.cat([data[shard_indices(size, rank, world)] for rank in range(world)])
        assert torch.equal(unshard(gathered, size, world), data), (size, world)


def test_batch_iterator_covers_an_epoch_and_resumes_exactly():
    tensors = {"x": torch.arange(20), "y": torch.arange(20)}
    it = BatchIterator(tensors, batch_size=4, seed=1)
    first_epoch = torch.cat([next(it)["x"] for _ in range(5)])
    assert sorted(first_epoch.tolist()) == list(range(20))
    state = it.state_dict()
    expected = [next(it)["x"] for _ in range(7)]
    resumed = BatchIterator(tensors, batch_size=4, seed=99)
    resumed.load_state_dict(state)
    assert all(torch.equal(a, next(resumed)["x"]) for a in expected)


def test_two_ranks_split_each_global_batch_without_overlap():
    tensors = {"x": torch.arange(16)}
    ranks = [BatchIterator(tensors, batch_size=2, seed=0, rank=r, world_size=2) for r in range(2)]
    seen = [torch.cat([next(it)["x"] for _ in range(4)]) for it in ranks]
    assert sorted(torch.cat(seen).tolist()) == list(range(16))


def data(name, **fields):
    return build(structure({"name": name, **fields}, DataSpec), BuildContext())


def test_digits_split_is_fixed_and_stratified():
    a, b = data("builtin.digits"), data("builtin.digits")
    assert torch.equal(a.split("test")["x"], b.split("test")["x"])
    assert a.size("train") + a.size("test") == 1797
    counts = torch.bincount(a.split("test")["y"], minlength=10)
    assert counts.min() >= 58 and counts.max() <= 62  # a third of each class (~180 per class)
    assert 0.0 <= a.split("train")["x"].min() and a.split("train")["x"].max() <= 1.0


def test_shapes_are_deterministic_and_factors_match_images():
    a = data("builtin.shapes", num_train=64, num_test=16)
    b = data("builtin.shapes", num_train=64, num_test=16)
    assert torch.equal(a.split("train")["x"], b.split("train")["x"])
    x, factors = a.split("train")["x"], a.split("train")["factors"]
    assert x.shape == (64, 1, 32, 32) and set(x.unique().tolist()) <= {0.0, 1.0}
    assert factors.shape == (64, 5) and (factors[:, 0] == a.split("train")["y"]).all()
    # bigger scale factor -> more pixels for the same shape (area grows with scale²)
    square = data("builtin.shapes", num_train=400, num_test=1).split("train")
    is_square = square["factors"][:, 0] == 0
    small = square["x"][is_square & (square["factors"][:, 1] == 0)].sum((1, 2, 3)).float().mean()
    large = square["x"][is_square & (square["factors"][:, 1] == 5)].sum((1, 2, 3)).float().mean()
    assert large / small > 3.0  # (1 / 0.5)² = 4 up to pixelation


def test_toys_mnist1d_sequences_shapes():
    ring = data("builtin.toy2d", num_train=800, num_test=10, noise=0.0)
    radius = ring.split("train")["x"].norm(dim=1)
    assert torch.allclose(radius, torch.full_like(radius, 2.0), atol=1e-5)
    assert data("builtin.mnist1d", num_samples=100).split("train")["x"].shape == (80, 40)
    seq = data("builtin.sequences", num_train=8, num_test=4, noise=0.0)
    assert seq.split("train")["x"].shape == (8, 32)
