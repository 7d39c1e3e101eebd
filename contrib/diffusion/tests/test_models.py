import torch
from latentzoo_diffusion.models import ResidualDenoiser, sinusoidal_embedding


def test_sinusoidal_embedding_at_zero_and_one():
    e = sinusoidal_embedding(torch.tensor([0.0, 1.0]), 4)
    # ω = (1, 10000^(−1/2) = 0.01): t = 0 -> [1, 1, 0, 0]; t = 1 -> [cos 1, cos 0.01, sin 1, sin 0.01]
    assert torch.allclose(e[0], torch.tensor([1.0, 1.0, 0.0, 0.0]))
    assert torch.allclose(e[1], torch.tensor([0.540302, 0.999950, 0.841471, 0.010000]), atol=1e-6)


def test_denoiser_shapes_and_time_broadcast():
    torch.manual_seed(0)
    model = ResidualDenoiser(6, width=16, depth=2, time_dim=8)
    x = torch.randn(5, 1, 2, 3)
    out = model(x, 3.0)
    assert out.shape == x.shape
    assert torch.allclose(out, model(x, torch.full((5,), 3.0)))
    out.sum().backward()


def test_time_modulation_starts_at_zero_and_norm_choice():
    model = ResidualDenoiser(4, width=8, depth=1, time_dim=8, norm="plain")
    x = torch.randn(3, 4)
    # zero-initialised modulation: t does not matter at initialisation
    assert torch.allclose(model(x, 0.0), model(x, 500.0))
    assert model.blocks[0].norm.weight is None
