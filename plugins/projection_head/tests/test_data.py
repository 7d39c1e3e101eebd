"""The synthetic generator and its two-view augmentation (spec test 3)."""


import pytest
import torch

from latentzoo.errors import UserError
from latentzoo_projection_head.data import (FeatureViews, FeatureViewsConfig, SyntheticFeaturesConfig,
                                            per_view_resample_probability, synthetic_features)


class Ctx:
    def __init__(self, data):
        self.data = data


def test_per_view_probability_by_hand():
    # (1 - q)² = 1 - p: p = 0.75 -> q = 0.5; p = 0 -> q = 0; p = 1 -> q = 1
    q = per_view_resample_probability(torch.tensor([0.75, 0.0, 1.0]))
    assert q.tolist() == pytest.approx([0.5, 0.0, 1.0])


def test_splits_labels_and_moments():
    data = synthetic_features(SyntheticFeaturesConfig(num_features=3, dim=5, noise=0.5, target=1,
                                                      target_augment=0.4, nuisance_augment=0.1,
                                                      weights=(1.0, 2.0, 0.5), num_train=50,
                                                      num_test=20), None)
    train = data.split("train")
    assert train["x"].shape == (50, 5) and train["z"].shape == (50, 3)
    assert set(train["z"].unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(train["y"], (train["z"][:, 1] > 0).long())
    assert data.info.num_classes == 2 and data.size("test") == 20
    extras = data.info.extras
    # M = diag(φ²(1 - p)) = diag(0.9, 4·0.6, 0.25·0.9, 0, 0); Σ = diag(φ²) + σ² I
    assert torch.diag(extras["cross_moment"]).tolist() == pytest.approx([0.9, 2.4, 0.225, 0.0, 0.0])
    assert torch.diag(extras["second_moment"]).tolist() == pytest.approx([1.25, 4.25, 0.5, 0.25, 0.25])
    assert extras["cross_moment"].sum() == pytest.approx(0.9 + 2.4 + 0.225)  # diagonal


def test_view_correlations_and_fresh_noise():
    # spec test 3: corr(z_i, z_i⁺) = 1 - p_i ± 0.01 over 1e5 pairs; noise independent across views
    torch.manual_seed(0)
    p = (0.0, 0.1, 0.5, 0.9)
    data = synthetic_features(SyntheticFeaturesConfig(num_features=4, dim=6, noise=0.3, augment=p,
                                                      num_train=100_000, num_test=10), None)
    views = FeatureViews(FeatureViewsConfig(), Ctx(data.info))
    batch = views(data.split("train"))
    x1, x2 = batch["x1"], batch["x2"]
    # E[x1_i x2_i] = φ²(1 - p_i) on the features (noise independent), 0 on the noise coordinates
    cross = (x1 * x2).mean(0)
    assert cross[:4].tolist() == pytest.approx([1 - v for v in p], abs=0.01)
    assert cross[4:].abs().max() < 0.01
    # each view keeps the marginal: E[x_i²] = φ² + σ² = 1.09, E[x_i] = 0
    assert (x1**2).mean(0)[:4].tolist() == pytest.approx([1.09] * 4, abs=0.02)
    assert x1.mean(0).abs().max() < 0.01
    # the noise is fresh: x1 - x2 on a noise coordinate has variance 2σ² = 0.18
    assert (x1[:, 5] - x2[:, 5]).var().item() == pytest.approx(0.18, abs=0.005)


@pytest.mark.parametrize("fields, message", [
    ({"num_features": 5, "dim": 3}, "dim"),
    ({"num_features": 3, "dim": 3, "target": 3}, "target"),
    ({"num_features": 3, "dim": 3, "augment": (0.1, 0.2)}, "augment has 2 entries"),
])
def test_bad_configs(fields, message):
    with pytest.raises(UserError, match=message):
        synthetic_features(SyntheticFeaturesConfig(**fields), None)


def test_views_need_the_synthetic_data():
    from latentzoo.data import DataInfo

    with pytest.raises(UserError, match="synthetic_features"):
        FeatureViews(FeatureViewsConfig(), Ctx(DataInfo((64,), 10)))
