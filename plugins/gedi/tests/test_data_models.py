"""Toy data, the two-view sampler and the network's temperature / BatchNorm options."""

import math

import pytest
import torch
from latentzoo.build import BuildContext
from latentzoo.errors import UserError
from latentzoo_gedi.data import GaussianViews, GaussianViewsConfig, Toy2dConfig, toy2d
from latentzoo_gedi.models import MLPConfig, mlp
from torch import nn


def test_toy_data_are_standardised_and_labelled():
    for kind in ("moons", "circles"):
        data = toy2d(Toy2dConfig(kind=kind, num_train=400, num_test=100), None)
        x = data.split("train")["x"]
        assert torch.allclose(x.mean(0), torch.zeros(2), atol=1e-5)
        assert torch.allclose(x.std(0, unbiased=False), torch.ones(2), atol=1e-4)
        assert set(data.split("test")["y"].tolist()) == {0, 1} and data.size("test") == 100


def test_circles_radii_ratio_is_the_factor():
    data = toy2d(Toy2dConfig(kind="circles", noise=0.0, factor=0.5, standardize=False), None)
    x, y = data.split("train")["x"], data.split("train")["y"]
    assert x[y == 0].norm(dim=1).mean().item() == pytest.approx(1.0, abs=1e-5)  # sklearn: outer = label 0
    assert x[y == 1].norm(dim=1).mean().item() == pytest.approx(0.5, abs=1e-5)


def test_gaussian_views():
    x = torch.zeros(20000, 2)
    torch.manual_seed(0)
    batch = GaussianViews(GaussianViewsConfig(std=0.05), None)({"x": x, "y": torch.zeros(20000)})
    assert set(batch) == {"x1", "x2", "y"}
    assert batch["x1"].std().item() == pytest.approx(0.05, rel=0.02)
    assert not torch.equal(batch["x1"], batch["x2"])
    same = GaussianViews(GaussianViewsConfig(std=0.0), None)({"x": x[:3] + 1})
    assert torch.equal(same["x1"], same["x2"])
    with pytest.raises(UserError, match="no 'x'"):
        GaussianViews(GaussianViewsConfig(), None)({"x1": x})


def _ctx():
    data = toy2d(Toy2dConfig(num_train=64, num_test=16), None)
    return BuildContext(data=data.info, splits=data)


def test_logits_are_projector_over_temperature_and_no_batchnorm_by_default():
    torch.manual_seed(0)
    hot = mlp(MLPConfig(temperature=0.1), _ctx())
    cold = mlp(MLPConfig(temperature=1.0), _ctx())
    cold.load_state_dict(hot.state_dict())
    x = torch.randn(5, 2)
    assert torch.allclose(hot(x), 10 * cold(x), atol=1e-5)
    assert hot(x).shape == (5, 2) and hot.embed(x).shape == (5, 128)
    assert not any(isinstance(m, nn.BatchNorm1d) for m in hot.modules())
    assert any(isinstance(m, nn.SiLU) for m in hot.modules())
    bn = mlp(MLPConfig(projector_bn=True, clusters=10), _ctx())
    assert any(isinstance(m, nn.BatchNorm1d) for m in bn.projector.modules()) and bn(x).shape == (5, 10)


def test_model_needs_data():
    with pytest.raises(UserError, match="data"):
        mlp(MLPConfig(), None)
    with pytest.raises(ValueError, match="must be > 0"):
        MLPConfig(temperature=0.0)
    assert math.isclose(MLPConfig().temperature, 0.1)
