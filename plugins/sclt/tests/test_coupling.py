"""Minibatch OT pairing (spec test 5) and the outlier injection."""

import pytest
import torch
from latentzoo_sclt.coupling import inject_outliers, ot_pair_noise, ot_permutation


def test_ot_swaps_a_crossed_pair():
    x = torch.tensor([[0.0], [10.0]])
    noise = torch.tensor([[10.0], [0.0]])
    assert ot_permutation(x, noise).tolist() == [1, 0]
    assert torch.equal(ot_pair_noise(x, noise), x)


def test_ot_is_a_permutation_and_never_costs_more_than_identity():
    generator = torch.Generator().manual_seed(0)
    for _ in range(100):
        x = torch.randn(16, 4, generator=generator) * 3
        noise = torch.randn(16, 4, generator=generator)
        paired = ot_pair_noise(x, noise)
        permutation = ot_permutation(x, noise)
        assert sorted(permutation.tolist()) == list(range(16))
        assert torch.equal(paired, noise[permutation])
        assert ((x - paired) ** 2).sum() <= ((x - noise) ** 2).sum() + 1e-9


def test_coordinate_outliers_rate_and_size():
    latents = torch.zeros(2000, 16)
    out = inject_outliers(latents, 0.02, 20.0, "coordinates", torch.Generator().manual_seed(0))
    hit = out != 0
    assert hit.float().mean().item() == pytest.approx(0.02, abs=0.003)
    assert set(out[hit].abs().unique().tolist()) == {10.0}  # 20·σ_d = 10
    assert (out[hit] > 0).float().mean().item() == pytest.approx(0.5, abs=0.06)
    again = inject_outliers(latents, 0.02, 20.0, "coordinates", torch.Generator().manual_seed(0))
    assert torch.equal(out, again)  # fixed per seed: identical across arms


def test_student_t_outliers_hit_whole_vectors():
    latents = torch.zeros(1000, 8)
    out = inject_outliers(latents, 0.05, 20.0, "student_t", torch.Generator().manual_seed(1))
    rows = (out != 0).any(1)
    assert rows.float().mean().item() == pytest.approx(0.05, abs=0.02)
    assert bool((out[rows] != 0).all())
    assert torch.equal(inject_outliers(latents, 0.0, 20.0, "coordinates", torch.Generator()), latents)
