"""Gradient alignment against hand-computed projections (official helper/optimizer.py semantics)."""

import pytest
import torch
from latentzoo_dual_head_kd.grad_align import aligned_surrogate, project_conflicting


def test_conflicting_gradient_is_projected_off_the_ce_gradient():
    # g_ce = [1, 0], g_kd = [-1, 1]: <g_kd, g_ce> = -1 < 0 -> g_kd' = [-1, 1] + [1, 0] = [0, 1]
    merged, conflict = project_conflicting(torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 1.0]))
    assert conflict
    assert merged.tolist() == [1.0, 1.0]


def test_agreeing_and_orthogonal_gradients_are_summed_unchanged():
    merged, conflict = project_conflicting(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0]))
    assert not conflict and merged.tolist() == [2.0, 1.0]
    merged, conflict = project_conflicting(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 3.0]))
    assert not conflict and merged.tolist() == [1.0, 3.0]  # dot = 0 is not < 0


def test_projected_gradient_is_orthogonal_and_ce_gradient_is_kept():
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        g_ce, g_kd = torch.randn(50, generator=g, dtype=torch.float64), torch.randn(50, generator=g, dtype=torch.float64)
        merged, conflict = project_conflicting(g_ce, g_kd)
        g_kd_new = merged - g_ce
        if conflict:
            assert abs(torch.dot(g_kd_new, g_ce).item()) < 1e-6
        else:
            assert torch.allclose(g_kd_new, g_kd, atol=1e-12)


def test_surrogate_has_the_loss_value_and_the_aligned_gradient():
    # shared parameter a (both objectives) and head-2-only parameter b (no CE gradient):
    # CE = 2a -> g_ce = [2, 0]; KD = -a + 3b -> g_kd = [-1, 3]; dot = -2 < 0
    # g_kd' = [-1, 3] - (-2 / 4) [2, 0] = [0, 3]; grad = [2, 3]
    a = torch.tensor(0.5, requires_grad=True)
    b = torch.tensor(2.0, requires_grad=True)
    ce, kd = 2 * a, -a + 3 * b
    total, conflict = aligned_surrogate(ce, kd, [a, b])
    assert conflict
    assert total.item() == pytest.approx(2 * 0.5 - 0.5 + 6.0)
    total.backward()
    assert a.grad.item() == pytest.approx(2.0) and b.grad.item() == pytest.approx(3.0)


def test_surrogate_projects_only_on_conflict():
    a = torch.tensor([1.0, -2.0], requires_grad=True)
    ce, kd = (a ** 2).sum(), (3 * a).sum()  # g_ce = 2a = [2, -4], g_kd = [3, 3]: dot = -6 < 0
    total, conflict = aligned_surrogate(ce, kd, [a])
    total.backward()
    # projection: g_kd' = [3, 3] + 6/20 [2, -4] = [3.6, 1.8]; grad = [5.6, -2.2]
    assert conflict
    assert a.grad.tolist() == pytest.approx([5.6, -2.2])
    a.grad = None
    ce, kd = (a ** 2).sum(), (a * torch.tensor([1.0, -1.0])).sum()  # g_kd = [1, -1]: dot = 6 > 0
    total, conflict = aligned_surrogate(ce, kd, [a])
    total.backward()
    assert not conflict and a.grad.tolist() == pytest.approx([3.0, -5.0])
