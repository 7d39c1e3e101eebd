"""Cross-space retrieval metrics by hand (spec test 6) and the stitching metric end to end."""

import math

import pytest
import torch
from latentzoo.data import DataInfo, DataSplits
from latentzoo.errors import UserError
from latentzoo_relreps.metrics import (
    LatentSimilarityConfig,
    StitchScoreConfig,
    latent_similarity,
    retrieval_scores,
)
from relreps_helpers import isometric_copy, make_evaluator, make_model

# Y: y0 = (1, 0), y1 = (0.1, 1), y2 = (-1, 0). Searching X_n among Y's rows by cosine:
#   x0 = (1, 0.1):    y0 0.995, y1 0.198, y2 -0.995  -> order 0, 1, 2: own index 0 at rank 1
#   x1 = (1, 0):      y0 1,     y1 0.0995, y2 -1     -> order 0, 1, 2: own index 1 at rank 2
#   x2 = (-1, -0.2):  y0 -0.981, y1 -0.293, y2 0.981 -> order 2, 1, 0: own index 2 at rank 1
# top_k(Y_n) in Y: y0 -> 0, 1 ; y1 -> 1, 0 ; y2 -> 2, 1
X = torch.tensor([[1.0, 0.1], [1.0, 0.0], [-1.0, -0.2]])
Y = torch.tensor([[1.0, 0.0], [0.1, 1.0], [-1.0, 0.0]])
COSINE = (1 / math.sqrt(1.01) + 0.1 / math.sqrt(1.01) + 1 / math.sqrt(1.04)) / 3


def test_retrieval_by_hand_k1():
    scores = retrieval_scores(X, Y, k=1)
    assert scores["cosine"] == pytest.approx(COSINE, abs=1e-9)
    assert scores["mrr"] == pytest.approx(2 / 3)          # (1 + 0 + 1) / 3: x1's own row is 2nd, not in top 1
    assert scores["jaccard"] == pytest.approx(2 / 3)      # {0}={0}, {0}≠{1}, {2}={2}


def test_retrieval_by_hand_k2():
    scores = retrieval_scores(X, Y, k=2)
    assert scores["mrr"] == pytest.approx(5 / 6)          # (1 + 1/2 + 1) / 3
    assert scores["jaccard"] == pytest.approx(1.0)        # {0,1}={0,1}, {0,1}={1,0}, {2,1}={2,1}


def test_identical_and_permuted_spaces():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(40, 6, generator=gen)
    same = retrieval_scores(x, x, k=5)
    assert same["cosine"] == pytest.approx(1.0) and same["mrr"] == 1.0 and same["jaccard"] == 1.0
    permuted = retrieval_scores(x, x[torch.randperm(40, generator=gen)], k=5)
    assert permuted["mrr"] < 1.0
    # Jaccard@k with k = N: every top-k set is the whole index
    assert retrieval_scores(x, -x, k=40)["jaccard"] == 1.0


def test_retrieval_rejects_bad_input():
    with pytest.raises(ValueError, match="k must be in"):
        retrieval_scores(X, Y, k=4)
    with pytest.raises(ValueError, match="same samples"):
        retrieval_scores(X, Y[:2], k=1)


def _data(n: int = 30) -> DataSplits:
    gen = torch.Generator().manual_seed(1)
    test = {"x": torch.randn(n, 6, generator=gen), "y": torch.randint(0, 3, (n,), generator=gen)}
    return DataSplits({"train": test, "test": test}, DataInfo(input_shape=(6,), num_classes=3))


def test_stitch_score_aggregates_the_pair_matrix():
    from latentzoo_relreps.metrics import stitch_score

    data = _data()
    a = make_model(0)
    b = isometric_copy(a)                     # same relative space as a
    with torch.no_grad():                     # b's head always predicts class 0
        b.head.mlp[-1].weight.zero_()
        b.head.mlp[-1].bias.copy_(torch.tensor([5.0, 0.0, 0.0]))
    labels = data.split("test")["y"]
    acc_a = (a(data.split("test")["x"]).argmax(-1) == labels).double().mean().item()
    p0 = (labels == 0).double().mean().item()
    # matrix [[acc_a, p0], [acc_a (b's encoder, a's head), p0]]
    values = stitch_score(StitchScoreConfig(figure=False), None)(make_evaluator({"a": a, "b": b}, data))
    assert values["accuracy_self"] == pytest.approx((acc_a + p0) / 2)
    assert values["accuracy_stitched"] == pytest.approx((p0 + acc_a) / 2)
    assert values["accuracy_stitched_std"] == pytest.approx(abs(acc_a - p0) / math.sqrt(2))


def test_stitch_score_mse_and_groups():
    from latentzoo_relreps.metrics import stitch_score

    data = _data()
    models = {"r0": make_model(0, task="reconstruction"), "r1": make_model(1, task="reconstruction"),
              "a0": make_model(0, space="absolute", task="reconstruction"),
              "a1": make_model(1, space="absolute", task="reconstruction")}
    values = stitch_score(StitchScoreConfig(), None)(make_evaluator(models, data))
    figures = values.pop("figures")
    assert len(figures["stitching_matrix"].axes) == 4          # two panels, two colour bars
    assert len(figures["stitched_reconstructions"].axes) == 5 * 8  # input + 2 rows per space, 8 digits
    assert set(values) == {f"{s}_mse_{k}" for s in ("relative", "absolute")
                           for k in ("self", "stitched", "stitched_std", "ratio")}
    assert values["relative_mse_ratio"] == pytest.approx(values["relative_mse_stitched"] / values["relative_mse_self"])
    with pytest.raises(UserError, match="only one absolute model"):
        stitch_score(StitchScoreConfig(), None)(make_evaluator({k: models[k] for k in ("r0", "r1", "a0")}, data))


def test_latent_similarity_sees_isometries_only_in_relative_space():
    data = _data(40)
    a = make_model(0)
    models = {"a": a, "b": isometric_copy(a, scale=3.7, seed=1)}
    values = latent_similarity(LatentSimilarityConfig(k=3), None)(make_evaluator(models, data))
    assert set(values) == {"abs_cosine", "abs_mrr@3", "abs_jaccard@3", "rel_cosine", "rel_mrr@3",
                           "rel_jaccard@3", "figures"}
    assert values["rel_cosine"] == pytest.approx(1.0, abs=1e-5)
    assert values["rel_mrr@3"] == pytest.approx(1.0) and values["rel_jaccard@3"] == pytest.approx(1.0)
    assert values["abs_cosine"] < 0.9


def test_latent_similarity_needs_parallel_anchors_and_two_models():
    data = _data()
    metric = latent_similarity(LatentSimilarityConfig(figure=False), None)
    with pytest.raises(UserError, match="parallel anchors"):
        metric(make_evaluator({"a": make_model(0), "b": make_model(1, anchors=torch.randn(8, 6))}, data))
    with pytest.raises(UserError, match="at least two"):
        metric(make_evaluator({"a": make_model(0)}, data))
