"""The m-grid, m*(δ), the crossover, the subset draws and the preprocessing."""

import numpy as np
import pytest
from latentzoo.errors import UserError
from latentzoo_disc_vs_gen.curves import CurveOptions, crossover_m, m_star, preprocess, size_grid
from latentzoo_disc_vs_gen.subsample import draw_with_every_class


def test_m_star_by_hand():
    sizes, errors = [10, 20, 40, 80], [0.5, 0.2, 0.105, 0.1]
    assert m_star(sizes, errors, 0.01) == 40  # 0.105 ≤ 0.1 + 0.01, 0.2 is not
    assert m_star(sizes, errors, 0.1) == 20  # 0.2 ≤ 0.2
    assert m_star(sizes, errors, 0.0) == 80
    assert m_star(sizes, [0.3, 0.1, 0.2, 0.25], 0.01) == 20  # non-monotone: first m that is close enough


def test_crossover_by_hand():
    sizes = [10, 20, 40, 80]
    assert crossover_m(sizes, [0.3, 0.2, 0.15, 0.1], [0.5, 0.25, 0.12, 0.08]) == 40
    assert crossover_m(sizes, [0.3, 0.2, 0.15, 0.1], [0.5, 0.25, 0.12, 0.1]) == 0  # tie at the end
    assert crossover_m(sizes, [0.3, 0.2, 0.2, 0.2], [0.2, 0.3, 0.1, 0.1]) == 40
    assert crossover_m(sizes, [0.3, 0.2, 0.2, 0.2], [0.2, 0.1, 0.1, 0.1]) == 10


def test_size_grid():
    assert size_grid(CurveOptions(shots=(3, 5), geometric=0), 10, 64, 600).tolist() == [30, 50]
    # geometric from 2K = 4 to 100: 4, 20, 100 (ratio 5)
    assert size_grid(CurveOptions(geometric=3, max_size=100), 2, 10, 1000).tolist() == [4, 20, 100]
    # default top: min(50·n, pool)
    assert size_grid(CurveOptions(geometric=2), 2, 10, 1000).tolist() == [4, 500]
    assert size_grid(CurveOptions(geometric=2), 2, 10, 300).tolist() == [4, 300]
    assert size_grid(CurveOptions(sizes=(7,), shots=(2,), geometric=0), 3, 5, 50).tolist() == [6, 7]
    with pytest.raises(UserError, match="exceeds the training pool"):
        size_grid(CurveOptions(sizes=(700,), geometric=0), 10, 64, 600)
    with pytest.raises(UserError, match="smaller than the number of classes"):
        size_grid(CurveOptions(sizes=(5,), geometric=0), 10, 64, 600)
    with pytest.raises(UserError, match="empty"):
        size_grid(CurveOptions(geometric=0), 10, 64, 600)


def test_draws_contain_every_class_without_replacement():
    labels = np.array([0] * 50 + [1] * 3 + [2] * 2)
    rng = np.random.default_rng(0)
    for _ in range(20):
        index = draw_with_every_class(labels, 6, rng)
        assert len(set(index.tolist())) == 6
        assert set(labels[index].tolist()) == {0, 1, 2}
    a = draw_with_every_class(labels, 10, np.random.default_rng(5))
    b = draw_with_every_class(labels, 10, np.random.default_rng(5))
    assert a.tolist() == b.tolist()
    with pytest.raises(UserError, match="smaller than the number of classes"):
        draw_with_every_class(labels, 2, rng)
    with pytest.raises(UserError, match="pool of 55"):
        draw_with_every_class(labels, 56, rng)
    with pytest.raises(UserError, match="tries"):
        draw_with_every_class(np.array([0] * 1000 + [1]), 3, rng, max_redraws=5)


def test_preprocess_drops_train_constant_features_and_scales_on_the_subset():
    train = np.array([[0.0, 5.0, 2.0], [1.0, 5.0, 4.0]])
    test = np.array([[2.0, 7.0, 3.0]])
    a, b = preprocess(train, test, CurveOptions(preprocess="minmax"))
    assert a.tolist() == [[0.0, 0.0], [1.0, 1.0]]
    assert b.tolist() == [[2.0, 0.5]]  # test may leave [0, 1]
    a, b = preprocess(train, test, CurveOptions(preprocess="none", drop_constant=False))
    assert a.shape == (2, 3) and b.tolist() == [[2.0, 7.0, 3.0]]


def test_subsample_m_as_a_batch_sampler():
    import torch
    from latentzoo_disc_vs_gen.subsample import SubsampleM, SubsampleMConfig

    class Ctx:
        seed = 3

    batch = {"x": torch.arange(40.0).reshape(20, 2), "y": torch.tensor([0] * 17 + [1, 2, 2])}
    out = SubsampleM(SubsampleMConfig(m=5), Ctx())(batch)
    assert len(out["y"]) == 5 and set(out["y"].tolist()) == {0, 1, 2}
    rows = (out["x"][:, 0] / 2).long()
    assert torch.equal(batch["y"][rows], out["y"])  # x and y stay paired
