"""Gradient alignment (GA), the PCGrad-style projection of DHKD (arXiv:2411.08937, Sec. 4).

The official code wraps the optimiser (``helper/optimizer.py:OptimGradAlign``, after
WeiChengTseng/Pytorch-PCGrad). For the objectives ``[γ·CE, α·KD]`` it

1. computes each objective's gradient by its own backward pass, flattened over all trainable
   parameters, with zeros where an objective does not reach a parameter (head 1 gets no KD
   gradient, head 2 no CE gradient);
2. projects the distillation gradient off the CE gradient only when they conflict::

       if ⟨g_kd, g_ce⟩ < 0:   g_kd ← g_kd − ⟨g_kd, g_ce⟩ / ‖g_ce‖² · g_ce

   (the loop also visits g_ce itself, whose dot with itself is ≥ 0, so it is never changed);
3. sets ``grad = g_ce + g_kd`` and lets the wrapped optimiser step (weight decay and momentum
   act on that sum).

latentzoo's training loop owns ``backward`` and the optimiser, so GA is carried out inside the
loss instead: :func:`aligned_surrogate` returns a scalar whose value is ``γ·CE + α·KD`` and
whose gradient with respect to every parameter is exactly ``g_ce + g_kd'``. The loop's single
``backward`` of that scalar then leaves the aligned gradient in ``.grad``; clipping, the
optimiser, DDP averaging (of each process's aligned gradient) and gradient accumulation work
unchanged.
"""

from __future__ import annotations

import torch

__all__ = ["project_conflicting", "aligned_gradients", "aligned_surrogate"]


def project_conflicting(g_ce: torch.Tensor, g_kd: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """``(g_ce + g_kd', conflict)`` for flat gradients; g_kd' is g_kd projected off g_ce if ⟨g_kd, g_ce⟩ < 0."""
    dot = torch.dot(g_kd, g_ce)
    conflict = bool(dot < 0)
    if conflict:
        g_kd = g_kd - dot / g_ce.pow(2).sum() * g_ce
    return g_ce + g_kd, conflict


def _flat(grads, params) -> torch.Tensor:
    return torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1)
                      for g, p in zip(grads, params)])


def aligned_gradients(ce: torch.Tensor, distill: torch.Tensor, params: list[torch.Tensor]
                      ) -> tuple[list[torch.Tensor], bool]:
    """Per-parameter aligned gradients ``g_ce + g_kd'`` of two scalar objectives (step 1 and 2)."""
    g_ce = torch.autograd.grad(ce, params, retain_graph=True, allow_unused=True)
    g_kd = torch.autograd.grad(distill, params, retain_graph=False, allow_unused=True)
    merged, conflict = project_conflicting(_flat(g_ce, params), _flat(g_kd, params))
    out, start = [], 0
    for p in params:
        out.append(merged[start: start + p.numel()].view_as(p))
        start += p.numel()
    return out, conflict


def aligned_surrogate(ce: torch.Tensor, distill: torch.Tensor, params: list[torch.Tensor]
                      ) -> tuple[torch.Tensor, bool]:
    """A scalar equal to ``ce + distill`` in value whose gradient is the aligned gradient."""
    grads, conflict = aligned_gradients(ce, distill, params)
    linear = sum((p * g.detach()).sum() for p, g in zip(params, grads))
    value = (ce + distill).detach()
    return value + linear - linear.detach(), conflict
