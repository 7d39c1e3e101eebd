"""Builtin metrics against values computed by hand."""

import math

import numpy as np
import torch
from latentzoo.builtin.frechet import feature_net, frechet_distance
from latentzoo.builtin.metrics import sliced_wasserstein_distance, top1
from latentzoo.training import lr_factor


def test_top1():
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0], [0.0, 1.0]])
    assert top1(logits, torch.tensor([0, 1, 1, 1])) == 0.75


def test_sliced_wasserstein_of_a_shift_is_the_projected_shift():
    # b = a + c: every 1-D projection shifts by θ·c, so W2²(θ) = (θ·c)², and for unit θ uniform
    # on the circle the mean of (θ·c)² is |c|²/2 in 2-D.
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(500, 2, generator=generator)
    c = torch.tensor([3.0, 4.0])
    value = sliced_wasserstein_distance(a, a + c, 20000, torch.Generator().manual_seed(1))
    assert abs(value - math.sqrt(25 / 2)) < 0.05
    assert sliced_wasserstein_distance(a, a, 16, generator) == 0.0


def test_frechet_distance_of_gaussians_matches_the_closed_form():
    # 1-D: (μ1-μ2)² + σ1² + σ2² - 2σ1σ2 = (μ1-μ2)² + (σ1-σ2)²
    value = frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-1.0]), np.array([[1.0]]))
    assert abs(value - (4 + 1)) < 1e-9
    sigma = np.diag([1.0, 2.0])
    assert abs(frechet_distance(np.zeros(2), sigma, np.zeros(2), sigma)) < 1e-9


def test_shipped_feature_net_classifies_digits():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    logits = feature_net()(torch.tensor(bunch.data / 16.0, dtype=torch.float32))
    assert (logits.argmax(1).numpy() == bunch.target).mean() > 0.98


def test_learning_rate_schedules():
    assert [round(lr_factor(s, 10, 2, "constant"), 3) for s in range(3)] == [0.5, 1.0, 1.0]
    assert lr_factor(2, 10, 2, "cosine") == 1.0
    assert abs(lr_factor(6, 10, 2, "cosine") - 0.5) < 1e-12  # halfway through the decay
    assert abs(lr_factor(6, 10, 2, "linear") - 0.5) < 1e-12
    assert [lr_factor(s, 10, 0, "step", (3, 6), 0.5) for s in (0, 2, 3, 5, 6, 9)] == [1, 1, 0.5, 0.5, 0.25, 0.25]


def test_teachers_stay_in_eval_mode_and_ema_moves_towards_the_model():
    from latentzoo.ema import EMA, Frozen

    student = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5))
    holder = torch.nn.ModuleDict({"ema": EMA(student, 0.75), "frozen": Frozen(student)})
    holder.train()
    assert not holder["ema"].module.training and not holder["frozen"].module.training
    assert not any(p.requires_grad for p in holder.parameters())
    with torch.no_grad():
        start = holder["ema"].module[0].weight.clone()
        student[0].weight.add_(4.0)
    holder["ema"].update(student)
    # θ_ema = 0.75·θ_ema + 0.25·(θ_ema + 4) = θ_ema + 1
    assert torch.allclose(holder["ema"].module[0].weight, start + 1.0)


def test_kmeans_clustering_nmi_and_ari_by_hand():
    from latentzoo.builtin.metrics import KMeansClusteringConfig, kmeans_clustering
    from latentzoo.testing import make_evaluator

    # k = 2 on 1-D points: the clusters are {0, 0.1, 1, 1.1} and {20, 20.1}; labels (0, 0, 1, 1, 1, 1)
    x = torch.tensor([[0.0], [0.1], [1.0], [1.1], [20.0], [20.1]])
    y = torch.tensor([0, 0, 1, 1, 1, 1])
    evaluator = make_evaluator(torch.nn.Identity(), {"test": {"x": x, "y": y}}, num_classes=2)
    for representation in ("input", "embed"):
        values = kmeans_clustering(KMeansClusteringConfig(representation=representation, n_init=3), None)(evaluator)
        # ARI: Σ C(n_ij, 2) = 3, row and column sums give 7 and 7, C(6, 2) = 15:
        # (3 − 7·7/15) / (7 − 7·7/15) = −1/14
        assert abs(values["kmeans_ari"] - (-1 / 14)) < 1e-12
        # NMI (arithmetic mean): I = (2 ln 3/2 + ln 3/4)/3 = ln(27/16)/3; H = H(1/3, 2/3) on both sides
        entropy = -(math.log(1 / 3) / 3 + 2 * math.log(2 / 3) / 3)
        assert abs(values["kmeans_nmi"] - math.log(27 / 16) / 3 / entropy) < 1e-12
    blobs = make_evaluator(torch.nn.Identity(), {"test": {"x": x[[0, 1, 4, 5]], "y": torch.tensor([1, 1, 0, 0])}},
                           num_classes=2)
    values = kmeans_clustering(KMeansClusteringConfig(prefix="", n_init=1), None)(blobs)
    assert values == {"nmi": 1.0, "ari": 1.0}


def test_weight_decay_of_1d_tensors_is_its_own():
    """AdamW with zero gradients only decays: p <- p·(1 − lr·wd), per parameter group."""
    from latentzoo.experiment import OptimizerConfig
    from latentzoo.training import make_optimizer, parameter_groups

    def step(**fields):
        layer = torch.nn.Linear(3, 2)
        torch.nn.init.ones_(layer.weight)
        torch.nn.init.ones_(layer.bias)
        config = OptimizerConfig(name="adamw", lr=0.5, **fields)
        optimizer = make_optimizer(config, parameter_groups(list(layer.parameters()), config))
        for p in layer.parameters():
            p.grad = torch.zeros_like(p)
        optimizer.step()
        return round(layer.weight[0, 0].item(), 6), round(layer.bias[0].item(), 6)  # float32

    assert step(weight_decay=0.1) == (0.95, 0.95)                       # one group
    assert step(weight_decay=0.1, weight_decay_1d=0.0) == (0.95, 1.0)   # biases exempt
    assert step(weight_decay=0.0, weight_decay_1d=0.02) == (1.0, 0.99)  # only biases decay


def test_sample_grid_shows_every_image_on_one_scale():
    import matplotlib.pyplot as plt
    from latentzoo.stages import sample_figure

    samples = torch.stack([torch.full((4,), 0.5), torch.tensor([0.0, 0.25, 1.0, 2.0])])  # 2x2 images
    figure = sample_figure(samples, 2, value_range=(0.0, 1.0))
    shown = [axis.images[0].get_array() for axis in figure.axes if axis.images]
    assert np.allclose(shown[0], 0.5)                          # not stretched to its own range
    assert np.allclose(np.ravel(shown[1]), [0.0, 0.25, 1.0, 1.0])  # clipped at the data's maximum
    plt.close(figure)
    figure = sample_figure(samples, 2)                         # no data: the grid's own range
    shown = [axis.images[0].get_array() for axis in figure.axes if axis.images]
    assert np.allclose(shown[0], 0.25) and np.allclose(np.ravel(shown[1]), [0.0, 0.125, 0.5, 1.0])
    plt.close(figure)


def test_samples_by_stage_figure_rows():
    import matplotlib.pyplot as plt
    from latentzoo.stages import samples_by_stage_figure

    digits = torch.rand(20, 64)
    assert samples_by_stage_figure({"one": digits}) is None                    # one stage: no comparison
    assert samples_by_stage_figure({"a": torch.rand(9, 2), "b": torch.rand(9, 2)}) is None  # 2-D points
    figure = samples_by_stage_figure({"a": digits, "b": digits[:5]}, per_row=16, reference=digits)
    labels = [text.get_text() for axis in figure.axes for text in axis.texts]
    assert labels == ["real", "a", "b"]
    assert len(figure.axes) == 3 * 16 and sum(1 for axis in figure.axes if axis.images) == 16 + 16 + 5
    plt.close(figure)
