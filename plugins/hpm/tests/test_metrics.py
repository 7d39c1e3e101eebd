"""The diagnostics' counting, by hand."""

import torch

from latentzoo_hpm.metrics import rank_accuracy


def test_rank_accuracy_by_hand():
    # ℓ = (1, 2, 3), ŝ = (0, 2, 1): pairs with ℓ_i > ℓ_j are (1,0), (2,0), (2,1);
    # ŝ orders the first two correctly and the last one wrongly: 2 of 3
    correct, pairs = rank_accuracy(torch.tensor([[0.0, 2.0, 1.0]]), torch.tensor([[1.0, 2.0, 3.0]]))
    assert correct.tolist() == [2] and pairs.tolist() == [3]
    # tied losses form no pair; tied scores count as wrong
    correct, pairs = rank_accuracy(torch.tensor([[1.0, 1.0, 0.0]]), torch.tensor([[2.0, 2.0, 1.0]]))
    assert correct.tolist() == [2] and pairs.tolist() == [2]
    correct, pairs = rank_accuracy(torch.zeros(1, 3), torch.tensor([[1.0, 2.0, 3.0]]))
    assert correct.tolist() == [0] and pairs.tolist() == [3]
