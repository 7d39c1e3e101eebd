"""The ICNN score and loss against hand-computed values (spec tests 2, 3 and 5)."""

import math

import pytest
import torch
from latentzoo_susana.icnn import icnn_loss, icnn_score, icnn_score_v0, nearest_targets


def column(values):
    return torch.tensor(values, dtype=torch.float64).unsqueeze(1)


def test_spec_hand_case():
    # [0, 1, 10, 11], labels [0, 0, 1, 1], k = 4 -> k = 2, ipc = 3 (module docstring steps):
    # a_i = 1/10, 1/9, 1/9, 1/10 -> lambda_sc = 1 - 0.42222/4 = 0.894444
    # other-class distances of the first 2 neighbours 10, 9, 9, 10 over max 10 -> lambda_dc = 0.95
    # gamma = 1 (k shrunk), score = ((0.894444 + 0.95)/2 + 1)/2 = 0.961111
    score, parts = icnn_score(column([0, 1, 10, 11]), torch.tensor([0, 0, 1, 1]), parts=True)
    assert parts["lambda_sc"].item() == pytest.approx(0.894444, abs=1e-5)
    assert parts["lambda_dc"].item() == pytest.approx(0.95, abs=1e-5)
    assert float(parts["gamma"]) == 1.0
    assert score.item() == pytest.approx(0.961111, abs=1e-5)
    loss = icnn_loss(column([0, 1, 10, 11]), torch.tensor([0, 0, 1, 1]))
    assert loss.item() == pytest.approx(0.039665, abs=1e-5)


def test_hand_case_without_shrink():
    # [0, 1, 2.5, 4.2], labels [0, 0, 1, 1], k = 1 (k + 2 < 4: no shrink), ipc = 2.
    # row 0: nbrs 1 (same), 2.5 (other): delta 2.5, a = 1/2.5 = 0.4
    # row 1: nbrs 0 (1, same), 2.5 (1.5, other): a = 1/1.5
    # row 2: nbrs 1 (1.5, other), 4.2 (1.7, same): first neighbour other -> c = 0, g = 1
    # row 3: nbrs 2.5 (1.7, same), 1 (3.2, other): a = 1.7/3.2
    # lambda_sc = 1 - (0.4 + 0.666667 + 0.53125)/3 = 0.467361; lambda_dc = (1.5/1.5)/1 = 1
    # gamma = (1 + 1 + 0 + 1)/1/4 = 0.75; score = ((0.467361 + 1)/2 + 0.75)/2 = 0.741840
    score, parts = icnn_score(column([0, 1, 2.5, 4.2]), torch.tensor([0, 0, 1, 1]), k=1, parts=True)
    assert parts["lambda_sc"].item() == pytest.approx(0.467361, abs=1e-5)
    assert parts["lambda_dc"].item() == pytest.approx(1.0, abs=1e-5)
    assert parts["gamma"].item() == pytest.approx(0.75, abs=1e-9)
    assert score.item() == pytest.approx(0.741840, abs=1e-5)


def test_no_other_class_among_first_k_gives_lambda_dc_one():
    # [0, 1, 2, 10, 11, 12] in two classes, k = 2: every first-2 neighbour is same-class.
    # a_i = 0.15, 1/9, 0.1875 (and mirrored) -> lambda_sc = 1 - 0.897222/6 = 0.850463
    # lambda_dc = |0 - 1| = 1; gamma = 1; score = ((0.850463 + 1)/2 + 1)/2 = 0.962616
    score, parts = icnn_score(column([0, 1, 2, 10, 11, 12]), torch.tensor([0, 0, 0, 1, 1, 1]), k=2,
                              parts=True)
    assert parts["lambda_sc"].item() == pytest.approx(0.850463, abs=1e-5)
    assert parts["lambda_dc"].item() == 1.0
    assert score.item() == pytest.approx(0.962616, abs=1e-5)


def test_query_variant_mask_keeps_the_nearest_prototype_drop_first_discards_it():
    # queries 0 (class 0), 10 (class 1); prototypes 0.5, 9, 20 (classes 0, 1, 2); n_t = 3 -> k = 1, ipc = 2
    # mask: q0 nbrs 0.5 (same), 9 (other): a = 0.5/9; q1 nbrs 9 (1, same), 0.5 (9.5, other): a = 1/9.5
    #   lambda_sc = 1 - (0.055556 + 0.105263)/2 = 0.919591, lambda_dc = 1, gamma = 1 -> 0.979898
    # drop_first: q0 nbrs 9, 20; q1 nbrs 0.5, 20 (all other): lambda_sc = 1,
    #   lambda_dc = (9/9.5 + 9.5/9.5)/2 = 0.973684, gamma = 1 -> 0.993421
    queries, protos = column([0, 10]), column([0.5, 9, 20])
    args = (queries, torch.tensor([0, 1]), protos, torch.tensor([0, 1, 2]))
    assert icnn_score(*args).item() == pytest.approx(0.979898, abs=1e-5)
    assert icnn_score(*args, self_exclusion="drop_first").item() == pytest.approx(0.993421, abs=1e-5)


def test_duplicates_do_not_break_self_exclusion():
    # rows 0 and 1 are the same point with different labels: the mask never returns i itself
    points = column([0, 0, 5, 6, 7])
    _, indices = nearest_targets(points, None, 3, "mask")
    for i in range(5):
        assert i not in indices[i].tolist()
    assert indices[0, 0].item() == 1 and indices[1, 0].item() == 0
    # same-label duplicates: mask and the official drop_first agree (spec, full variant)
    same = column([0, 0, 1, 5, 5, 6])
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    assert icnn_score(same, labels).item() == pytest.approx(
        icnn_score(same, labels, self_exclusion="drop_first").item(), abs=1e-12)


def _clusters(generator, offset_scale, shuffle=False):
    # spec test 3: 5 classes x 16 points in 8-D, unit intra-class spread, inter-class offsets scaled
    centres = torch.randn(5, 1, 8, generator=generator, dtype=torch.float64)
    noise = torch.randn(5, 16, 8, generator=generator, dtype=torch.float64)
    labels = torch.arange(5).repeat_interleave(16)
    if shuffle:
        labels = labels[torch.randperm(80, generator=generator)]
    return centres, noise, labels


def test_score_in_unit_interval_increases_with_separation_and_drops_when_shuffled():
    generator = torch.Generator().manual_seed(0)
    for _ in range(5):
        centres, noise, labels = _clusters(generator, 1.0)
        scores = []
        for scale in (0.25, 0.5, 1, 2, 4, 8):
            points = (scale * centres + noise).reshape(80, 8)
            score = icnn_score(points, labels, ipc=16).item()
            assert 0.0 <= score <= 1.0
            scores.append(score)
            shuffled = labels[torch.randperm(80, generator=generator)]
            assert icnn_score(points, shuffled, ipc=16).item() < score
        assert all(b >= a - 1e-12 for a, b in zip(scores, scores[1:])), scores


def test_gradients_are_finite_also_for_rows_without_other_class_neighbours():
    points = column([0, 1, 2, 10, 11, 12]).requires_grad_()
    loss = icnn_loss(points, torch.tensor([0, 0, 0, 1, 1, 1]), k=2)
    loss.backward()
    assert torch.isfinite(points.grad).all() and points.grad.abs().sum() > 0


def test_batched_scores_equal_one_at_a_time():
    generator = torch.Generator().manual_seed(1)
    sets = torch.randn(3, 12, 4, generator=generator, dtype=torch.float64)
    labels = torch.arange(3).repeat_interleave(4)
    batched = icnn_score(sets, labels, ipc=5, exact=False)
    single = torch.stack([icnn_score(s, labels, ipc=5) for s in sets])
    assert torch.allclose(batched, single, atol=1e-10)


def test_ipc_larger_than_the_set_is_an_error():
    with pytest.raises(ValueError, match="neighbours"):
        icnn_score(column([0, 1, 2, 3]), torch.tensor([0, 0, 1, 1]), ipc=4)


def test_v0_hand_case():
    # [0, 1, 10, 11], labels [0, 0, 1, 1], k = 5 >= 4 -> k = 3 (all other points), p = q = r = 2.
    # min-max normalised rows: [0, .9, 1], [0, 8/9, 1], [0, 8/9, 1], [0, .9, 1] (first = same class)
    # lambda_i = sum dcnd + sum (1 - scnd) sc = 2.9, 2.888889, 2.888889, 2.9
    # lambda = (1 + 1 + 2 sqrt(2.888889/2.9))/4 = 0.999041;  gamma = sqrt(1/3) = 0.577350
    points, labels = column([0, 1, 10, 11]), torch.tensor([0, 0, 1, 1])
    assert icnn_score_v0(points, labels).item() == pytest.approx((0.999041 + 0.577350) / 2, abs=1e-5)
    # omega: scnd is all 0; dcnd has 4 zeros, 4 ones, 2 x 0.9, 2 x 8/9: unbiased var 0.219547
    omega = math.sqrt(1 - 0.219547)
    expected = (0.999041 + 0.577350 + omega) / 3
    assert icnn_score_v0(points, labels, omega=True).item() == pytest.approx(expected, abs=1e-5)
