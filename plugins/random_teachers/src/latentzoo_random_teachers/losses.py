"""Distillation from a frozen random teacher (arXiv 2302.12091; official ``dinopl/core.py``).

For teacher projections g_T(x) and student projections g_S(x) (``[crops, batch, K]``):

    logits_T = (g_T − c_T) / τ_T,   logits_S = (g_S − c_S) / τ_S                  (centre, then τ)
    CE       = mean_pairs mean_batch Σ_k −softmax(logits_T)_k · log_softmax(logits_S)_k
    KL       = CE − H(p_T),   H(p) = −Σ_k p_k log p_k

Pairs (teacher crop i, student crop j) are ``same`` (i = j), ``opposite`` (i ≠ j) or ``all``.
After the loss is formed, each centre with a momentum m is updated (DINO):

    c ← m · c + (1 − m) · mean over crops and batch of g            (the projections, before τ)

With no momentum (``None``, the repo's NaN) the centre stays 0 and is never updated.

The teacher is a copy of the random network of an earlier stage (``inputs.teacher``), frozen
(``requires_grad=False``, never updated: ``t_mode=no_update``) and always in eval mode
(``t_eval=True``: its BatchNorm uses the initial running statistics). It lives in this loss,
so the core checkpoints it with the centres and a resumed run continues bit for bit.

Defaults are the paper's symmetric setup (repo ``cifar10_distillation_v2``): τ_T = τ_S = 1, no
centring, pairing ``same``, one un-augmented view. The DINO-like v1 setup is τ_T = 0.04,
τ_S = 0.1, t_cmom = 0.9.
"""

from __future__ import annotations

import copy

import attrs
import torch
import torch.nn.functional as F
from latentzoo.config import option
from latentzoo.errors import UserError
from torch import nn

__all__ = ["DistillConfig", "DistillCE", "FrozenTeacher", "crop_pairs", "multicrop_cross_entropy",
           "update_centre"]


class FrozenTeacher(nn.Module):
    """A network that never trains: no gradients, and eval mode whatever ``train()`` is asked."""

    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = copy.deepcopy(network).requires_grad_(False)
        self.train(False)

    def train(self, mode: bool = True):
        return super().train(False)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)


def crop_pairs(n_teacher: int, n_student: int, pairing: str) -> list[tuple[int, int]]:
    """(teacher crop, student crop) index pairs; crops are matched by index."""
    pairs = [(i, j) for i in range(n_teacher) for j in range(n_student)
             if pairing == "all" or (pairing == "same") == (i == j)]
    if not pairs:
        raise UserError(f"pairing '{pairing}' leaves no (teacher, student) crop pair with "
                        f"{n_teacher} teacher and {n_student} student crop(s)")
    return pairs


def multicrop_cross_entropy(t_logits: torch.Tensor, s_logits: torch.Tensor,
                            pairing: str = "same") -> dict[str, torch.Tensor]:
    """The distillation CE over crop pairs: ``{"ce", "kl", "h_teacher", "h_student"}`` (each a scalar).

    ``t_logits`` ``[Ct, B, K]`` and ``s_logits`` ``[Cs, B, K]`` are already centred and
    divided by their temperatures. ``h_student`` is the student's mean entropy (``H_pred``).
    """
    t_prob = F.softmax(t_logits, dim=-1)
    t_log = F.log_softmax(t_logits, dim=-1)
    s_log = F.log_softmax(s_logits, dim=-1)
    h_teacher = -(t_prob * t_log).sum(-1).mean(-1)                   # per teacher crop
    ce, kl = [], []
    for i, j in crop_pairs(len(t_logits), len(s_logits), pairing):
        ce_ij = -(t_prob[i] * s_log[j]).sum(-1).mean()                # Σ_k, then mean over batch
        ce.append(ce_ij)
        kl.append(ce_ij - h_teacher[i])
    h_student = -(s_log.exp() * s_log).sum(-1).mean()
    return {"ce": torch.stack(ce).mean(), "kl": torch.stack(kl).mean(),
            "h_teacher": h_teacher.mean(), "h_student": h_student}


@torch.no_grad()
def update_centre(centre: torch.Tensor, projections: torch.Tensor, momentum: float) -> None:
    """c ← m·c + (1 − m)·mean(g) over every axis but the last, averaged over processes."""
    mean = projections.reshape(-1, projections.shape[-1]).mean(0)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.all_reduce(mean)
        mean /= torch.distributed.get_world_size()
    centre.mul_(momentum).add_(mean, alpha=1.0 - momentum)


@attrs.frozen
class DistillConfig:
    teacher: str = option("teacher", "key of the random teacher in the stage's inputs")
    t_temp: float = option(1.0, "teacher temperature τ_T (v1: 0.04)", gt=0)
    s_temp: float = option(1.0, "student temperature τ_S (v1: 0.1)", gt=0)
    t_cmom: float | None = option(None, "teacher centre momentum m (unset: no centring; v1: 0.9)",
                                  ge=0, le=1)
    s_cmom: float | None = option(None, "student centre momentum (unset: no centring)", ge=0, le=1)
    pairing: str = option("same", "which (teacher, student) crops are compared",
                          choices=("same", "opposite", "all"))


class DistillCE(nn.Module):
    """``random_teachers.distill_ce``: the student matches the frozen random teacher (CE above)."""

    def __init__(self, config: DistillConfig, ctx):
        super().__init__()
        network = ctx.artifacts.get(config.teacher)
        if network is None:
            raise UserError(f"random_teachers.distill_ce needs the random teacher as an input: set "
                            f"inputs = {{ {config.teacher} = \"<random_init stage>\" }} "
                            f"(inputs given: {', '.join(ctx.artifacts) or 'none'})")
        self.config = config
        self.teacher = FrozenTeacher(network)
        probe = self.teacher(_probe_input(network, ctx))
        # the centres take the teacher's dtype (a float64 run keeps float64 centres, as the
        # official head's buffer does)
        self.register_buffer("t_centre", torch.zeros(probe.shape[-1], dtype=probe.dtype))
        self.register_buffer("s_centre", torch.zeros(probe.shape[-1], dtype=probe.dtype))

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x = batch["x"]
        t_proj = self.teacher(x).unsqueeze(0)        # [crops=1, B, K]: one un-augmented view
        s_proj = model(x).unsqueeze(0)
        c = self.config
        t_logits = (t_proj - self.t_centre) / c.t_temp
        s_logits = (s_proj - self.s_centre) / c.s_temp
        terms = multicrop_cross_entropy(t_logits, s_logits, c.pairing)
        # the centres move only after this step's logits are formed
        if c.t_cmom is not None:
            update_centre(self.t_centre, t_proj, c.t_cmom)
        if c.s_cmom is not None:
            update_centre(self.s_centre, s_proj.detach(), c.s_cmom)
        return {"loss": terms["ce"], "kl": terms["kl"].detach(),
                "h_teacher": terms["h_teacher"].detach(), "h_student": terms["h_student"].detach()}


def _probe_input(network: nn.Module, ctx) -> torch.Tensor:
    shape = tuple(network.arch["input_shape"]) if hasattr(network, "arch") else tuple(ctx.data.input_shape)
    parameter = next(network.parameters())
    return torch.zeros(1, *shape, device=parameter.device, dtype=parameter.dtype)
