"""sign.projection_map: the figure's layout and values against corruptions and maps recomputed here."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from latentzoo.errors import UserError
from latentzoo.testing import make_evaluator
from latentzoo_diffusion.models import ResidualDenoiser
from torch import nn

from latentzoo_sign.models import IdempotentNet
from latentzoo_sign.metrics import ProjectionConfig, ProjectionMapConfig, projection, projection_map


def _map():
    """f(x) = 0.5·x + 0.25 on 2x2 "digits" (4 values): a fixed affine map, not idempotent."""
    f = nn.Linear(4, 4)
    with torch.no_grad():
        f.weight.copy_(0.5 * torch.eye(4))
        f.bias.fill_(0.25)
    return f


def _evaluator(model, n=6):
    x = torch.rand(n, 4, generator=torch.Generator().manual_seed(3))
    return make_evaluator(model, {"test": {"x": x, "y": torch.zeros(n, dtype=torch.long)}})


def test_projection_map_layout_inputs_maps_and_mses_by_hand():
    cols, sigma, frac = 3, 0.4, 0.5
    evaluator = _evaluator(_map())
    config = ProjectionMapConfig(num_images=cols, noise_strength=sigma, noise_seed=4, mask_strength=frac,
                                 mask_seed=9)
    out = projection_map(config, None)(evaluator)
    assert set(out) == {"figures"}
    figure = out["figures"]["projection_map"]
    axes = np.array(figure.axes).reshape(6, cols)
    assert [a.get_title() for a in axes[0]] == [f"test #{c}" for c in range(cols)]
    assert [axes[r, 0].get_ylabel().split("\n")[0] for r in range(6)] == [
        "clean x", "noised x + σε", "f(noised)", "masked x", "f(masked)", "f(f(masked))"]

    # by hand: the corruptions are drawn over the whole split (6 rows), then the first 3 shown
    x = evaluator.tensors()["x"]
    noised = x + sigma * torch.randn(x.shape, generator=torch.Generator().manual_seed(4))
    masked = x * (torch.rand(x.shape, generator=torch.Generator().manual_seed(9)) >= frac)
    f = lambda v: 0.5 * v + 0.25  # noqa: E731
    rows = [x, noised, f(noised), masked, f(masked), f(f(masked))]
    low, high = x.min().item(), x.max().item()
    for r, row in enumerate(rows):
        for c in range(cols):
            image = axes[r, c].images[0]
            np.testing.assert_allclose(image.get_array(), row[c].reshape(2, 2).numpy(), rtol=1e-6, atol=1e-7)
            assert image.get_clim() == pytest.approx((low, high))       # one scale: the data's range
            if r:
                assert float(axes[r, c].get_xlabel()) == pytest.approx(((row[c] - x[c]) ** 2).mean().item(),
                                                                       abs=5e-5)
        if r:   # the split-wide mean in the row label
            split = float(axes[r, 0].get_ylabel().split("all: ")[1])
            assert split == pytest.approx(((row - x) ** 2).mean().item(), abs=5e-5)
    assert axes[0, 0].get_xlabel() == ""
    matplotlib.pyplot.close(figure)


def test_projection_map_agrees_with_sign_projection():
    evaluator = _evaluator(_map())
    figure = projection_map(ProjectionMapConfig(num_images=2), None)(evaluator)["figures"]["projection_map"]
    axes = np.array(figure.axes).reshape(6, 2)
    split = [float(axes[r, 0].get_ylabel().split("all: ")[1]) for r in (1, 2, 3, 4)]
    noise = projection(ProjectionConfig(corruption="noise", strength=0.3), None)(evaluator)
    mask = projection(ProjectionConfig(corruption="mask", strength=0.25), None)(evaluator)
    expected = [noise["corrupted_mse"], noise["projected_mse"], mask["corrupted_mse"], mask["projected_mse"]]
    assert split == pytest.approx(expected, abs=5e-5)
    matplotlib.pyplot.close(figure)


def test_projection_map_needs_an_idempotent_map():
    with pytest.raises(UserError, match="needs the stage's model"):
        projection_map(ProjectionMapConfig(), None)(_evaluator(None))
    teacher = ResidualDenoiser(4, 8, 1, 2, 8)                 # ε(x, t): needs a time input
    with pytest.raises(UserError, match="takes further inputs \\(t\\)"):
        projection_map(ProjectionMapConfig(), None)(_evaluator(teacher))
    student = IdempotentNet(teacher, t_c=5, a=0.9, c=0.4)     # the same net at a fixed t_c: a map
    figure = projection_map(ProjectionMapConfig(num_images=2), None)(_evaluator(student))["figures"]
    matplotlib.pyplot.close(figure["projection_map"])
    with pytest.raises(UserError, match="X -> X"):
        projection_map(ProjectionMapConfig(), None)(_evaluator(nn.Linear(4, 2)))
