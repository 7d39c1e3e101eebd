"""omat.attack_pairs: the figure's layout and values against the attack recomputed here."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

from latentzoo.errors import UserError
from latentzoo.testing import make_evaluator
from latentzoo_omat.attack import Generator, GeneratorConfig, latent_attack, pixel_pgd, quantise
from latentzoo_omat.metrics import ROW_LABELS, AttackPairsConfig, attack_pairs
from latentzoo_omat.models import ConvDetector

CFG = dict(timesteps=20, sampling_steps=3, num_latents=4, max_steps=4, pgd_steps=3, draw_seed=11)


def _tiny():
    from latentzoo_diffusion.models import ResidualDenoiser

    torch.manual_seed(0)
    denoiser = ResidualDenoiser(64, 16, 1, 2, 8, "layernorm", 0.0)
    detector = ConvDetector((2, 2))
    with torch.no_grad():
        detector.head.bias.fill_(2.0)    # starts at p_fake ≈ σ(2): the attack has to move z
    return denoiser, detector


def _evaluator(denoiser, detector, with_generator=True):
    x = torch.zeros(4, 64)
    models = {"generator": denoiser} if with_generator else {}
    return make_evaluator(detector, {"test": {"x": x, "y": torch.zeros(4)}}, models=models)


def _p(label: str) -> float:
    assert label.startswith("p_fake ")
    return float(label.split()[1])


def test_attack_pairs_grid_labels_and_values_by_hand():
    denoiser, detector = _tiny()
    config = AttackPairsConfig(**CFG)
    out = attack_pairs(config, None)(_evaluator(denoiser, detector))
    assert set(out) == {"figures"}
    figure = out["figures"]["attack_pairs"]
    n = CFG["num_latents"]
    assert len(figure.axes) == 5 * n + 5                  # the 5 x n grid, then one colour bar per row
    grid = np.array(figure.axes[: 5 * n]).reshape(5, n)
    assert [grid[r, 0].get_ylabel() for r in range(5)] == list(ROW_LABELS)
    assert [a.get_title() for a in grid[0]] == [f"z₀ #{c}" for c in range(n)]

    # by hand: the seeded z0, G(z0), the attack's z*, PGD of G(z0), and σ(D(x)) of each image
    generate = Generator(denoiser, GeneratorConfig(timesteps=20, sampling_steps=3))
    z0 = torch.randn(n, 64, generator=torch.Generator().manual_seed(CFG["draw_seed"]))
    with torch.no_grad():
        start = generate(z0)
    result = latent_attack(generate, detector, z0, lr=0.05, max_steps=CFG["max_steps"])
    assert result.steps.max().item() > 0                  # the attack moved something
    with torch.no_grad():
        latent = generate(result.z)
    pgd = quantise(pixel_pgd(detector, start, 0.125, CFG["pgd_steps"]))
    detector.eval()
    with torch.no_grad():
        p = {k: torch.sigmoid(detector(x)).reshape(-1) for k, x in
             (("start", start), ("latent", latent), ("pgd", pgd))}
    latent_diff = (latent - start).abs()
    assert latent_diff.sum() > 0
    for c in range(n):
        shown = [grid[r, c].images[0] for r in range(5)]
        for image in shown:
            assert image.get_array().shape == (8, 8)
        np.testing.assert_allclose(shown[0].get_array(), start[c].view(8, 8).numpy(), atol=1e-6)
        np.testing.assert_allclose(shown[1].get_array(), latent[c].view(8, 8).numpy(), atol=1e-6)
        np.testing.assert_allclose(shown[2].get_array(), latent_diff[c].view(8, 8).numpy(), atol=1e-6)
        np.testing.assert_allclose(shown[3].get_array(), pgd[c].view(8, 8).numpy(), atol=1e-6)
        np.testing.assert_allclose(shown[4].get_array(), (pgd - start)[c].abs().view(8, 8).numpy(),
                                   atol=1e-6)
        # images on the data range, differences on one shared scale
        for r in (0, 1, 3):
            assert shown[r].get_clim() == (-1.0, 1.0)
        assert shown[2].get_clim() == shown[4].get_clim() and shown[2].get_clim()[0] == 0.0
        for r, key in ((0, "start"), (1, "latent"), (3, "pgd")):
            assert _p(grid[r, c].get_xlabel()) == pytest.approx(p[key][c].item(), abs=6e-4)
        assert grid[2, c].get_xlabel() == f"{int(result.steps[c])} steps"
    matplotlib.pyplot.close(figure)


def test_attack_pairs_names_missing_generator_and_detector():
    denoiser, detector = _tiny()
    with pytest.raises(UserError, match="generator"):
        attack_pairs(AttackPairsConfig(**CFG), None)(_evaluator(denoiser, detector, with_generator=False))
    evaluator = _evaluator(denoiser, detector)
    evaluator.model = None
    with pytest.raises(UserError, match="detector"):
        attack_pairs(AttackPairsConfig(**CFG), None)(evaluator)
