"""Probe protocol and data of arXiv 2302.12091, with hand-computed values."""

import pytest
import torch
from latentzoo_random_teachers.data import NoiseInputsConfig, SingleViewConfig, noise_inputs, single_view
from latentzoo_random_teachers.metrics import ProbeConfig, knn_accuracy, linear_probe_accuracy, standardize


def test_knn_majority_vote_by_hand():
    train = torch.tensor([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0]])
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    test = torch.tensor([[0.5], [11.5], [6.1]])
    # 6.1: nearest three are 10 (3.9), 2 (4.1), 11 (4.9) -> votes 2 x class 1, 1 x class 0
    assert knn_accuracy(train, labels, test, torch.tensor([0, 1, 1]), k=3) == 1.0
    assert knn_accuracy(train, labels, test, torch.tensor([0, 1, 0]), k=3) == pytest.approx(2 / 3)
    # k = 6: every point votes, 3 : 3, ties go to the smaller label
    assert knn_accuracy(train, labels, test, torch.tensor([0, 0, 0]), k=6) == 1.0


def test_standardize_uses_train_statistics_and_floors_std():
    train = torch.tensor([[1.0, 5.0], [3.0, 5.0]])
    test = torch.tensor([[2.0, 6.0]])
    a, b = standardize(train, test)
    # feature 0: mean 2, std (unbiased) √2; feature 1: constant, std floored at 10·eps
    torch.testing.assert_close(a[:, 0], torch.tensor([-1.0, 1.0]) / 2**0.5)
    assert torch.all(a[:, 1] == 0)
    assert b[0, 0] == 0 and b[0, 1] == pytest.approx(1.0 / (10 * torch.finfo(torch.float32).eps))


def test_linear_probe_separates_separable_classes_and_is_seeded():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(200, 3, generator=generator)
    y = (x[:, 0] > 0).long()
    config = ProbeConfig(epochs=20, lr=1e-2)
    first = linear_probe_accuracy(x, y, x, y, config)
    assert first >= 0.97
    assert linear_probe_accuracy(x, y, x, y, config) == first


def test_single_view_is_standardised_mnist1d_4000_1000():
    data = single_view(SingleViewConfig(), None)
    x = data.split("train")["x"]
    assert x.shape == (4000, 40) and data.size("test") == 1000 and data.info.input_shape == (40,)
    torch.testing.assert_close(x.mean(0), torch.zeros(40), atol=1e-5, rtol=0)
    torch.testing.assert_close(x.std(0), torch.ones(40), atol=1e-4, rtol=0)


def test_noise_inputs_match_real_moments_and_sizes():
    real = single_view(SingleViewConfig(source="digits"), None)
    noise = noise_inputs(NoiseInputsConfig(source="digits"), None)
    assert noise.size("train") == real.size("train") and noise.size("test") == real.size("test")
    x, xr = noise.split("train")["x"], real.split("train")["x"]
    assert not torch.equal(x, xr)
    # per-feature mean / std of the standardised digits: 0 / 1 where a pixel varies, 0 / 0 where not
    constant = xr.std(0) == 0
    assert constant.any()
    assert torch.all(x[:, constant] == xr[0, constant])
    torch.testing.assert_close(x[:, ~constant].std(0).mean(), torch.tensor(1.0), atol=0.05, rtol=0)
