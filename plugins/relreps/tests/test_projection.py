"""The relative projection of Eq. 1 (spec tests 1-3 and hand-computed values)."""

import math

import pytest
import torch
from latentzoo_relreps.models import relative_projection
from relreps_helpers import random_orthogonal


def test_cosine_by_hand():
    x = torch.tensor([[1.0, 0.0], [3.0, 4.0]])
    anchors = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    # cos([1,0], .) = 1, 0, 1/√2;  cos([3,4], .) = 3/5, 4/5, 7/(5√2)
    expected = torch.tensor([[1.0, 0.0, 1 / math.sqrt(2)], [0.6, 0.8, 7 / (5 * math.sqrt(2))]])
    torch.testing.assert_close(relative_projection(x, anchors, "cosine"), expected)


def test_inner_by_hand():
    x = torch.tensor([[3.0, 4.0]])
    anchors = torch.tensor([[1.0, 0.0], [2.0, 2.0]])
    # x·a / √d with d = 2: 3/√2, 14/√2
    expected = torch.tensor([[3 / math.sqrt(2), 14 / math.sqrt(2)]])
    torch.testing.assert_close(relative_projection(x, anchors, "inner"), expected)


def test_basis_change_by_hand():
    x = torch.tensor([[2.0, 2.0], [4.0, -8.0]])
    anchors = torch.tensor([[2.0, 0.0], [0.0, 4.0]])
    # coordinates c with c_1 (2,0) + c_2 (0,4) = x
    expected = torch.tensor([[1.0, 0.5], [2.0, -2.0]])
    torch.testing.assert_close(relative_projection(x, anchors, "basis_change"), expected)


def test_invariant_to_rotation_and_scale():
    # spec test 1: rel(s E Q, s E_A Q) = rel(E, E_A) for orthogonal Q, s = 3.7
    gen = torch.Generator().manual_seed(0)
    latents, anchors = torch.randn(50, 16, generator=gen), torch.randn(20, 16, generator=gen)
    q = random_orthogonal(16, seed=1)
    assert torch.allclose(q @ q.T, torch.eye(16), atol=1e-5)
    s = 3.7
    moved = relative_projection(s * latents @ q, s * anchors @ q)
    torch.testing.assert_close(moved, relative_projection(latents, anchors), atol=1e-5, rtol=0)


def test_basis_change_invariant_to_invertible_maps():
    # pinv(T B) T = pinv(B) for B of full row rank and T invertible: any linear map, not only isometries
    gen = torch.Generator().manual_seed(0)
    latents, anchors = torch.randn(30, 4, generator=gen), torch.randn(10, 4, generator=gen)
    t = torch.randn(4, 4, generator=gen) + 3 * torch.eye(4)
    moved = relative_projection(latents @ t, anchors @ t, "basis_change")
    torch.testing.assert_close(moved, relative_projection(latents, anchors, "basis_change"), atol=1e-4, rtol=1e-4)


def test_not_invariant_to_translation():
    # spec test 2: a constant shift changes the cosines (a known limitation, Sec. 3.1)
    gen = torch.Generator().manual_seed(0)
    latents, anchors = torch.randn(50, 8, generator=gen), torch.randn(10, 8, generator=gen)
    shift = torch.full((8,), 2.0)
    moved = relative_projection(latents + shift, anchors + shift)
    assert (moved - relative_projection(latents, anchors)).abs().max() > 0.1


def test_inner_is_not_scale_invariant():
    gen = torch.Generator().manual_seed(0)
    latents, anchors = torch.randn(5, 8, generator=gen), torch.randn(3, 8, generator=gen)
    torch.testing.assert_close(relative_projection(2 * latents, 2 * anchors, "inner"),
                               4 * relative_projection(latents, anchors, "inner"))


def test_anchor_is_one_on_its_own_column_and_range():
    # spec test 3: r(a_k)_k = 1, every entry in [-1, 1]
    gen = torch.Generator().manual_seed(0)
    anchors = torch.randn(12, 5, generator=gen) * 10
    x = torch.cat([anchors, torch.randn(40, 5, generator=gen) * 10])
    r = relative_projection(x, anchors)
    torch.testing.assert_close(r[:12].diagonal(), torch.ones(12))
    assert r.min() >= -1 - 1e-6 and r.max() <= 1 + 1e-6


def test_zero_latent_gives_zero_similarities():
    # F.normalize puts eps = 1e-12 on the norm: a zero row stays zero instead of NaN
    r = relative_projection(torch.zeros(1, 3), torch.eye(3))
    assert torch.equal(r, torch.zeros(1, 3))


def test_mismatched_dimensions_raise():
    with pytest.raises(ValueError, match="same encoder"):
        relative_projection(torch.zeros(2, 3), torch.zeros(4, 5))
