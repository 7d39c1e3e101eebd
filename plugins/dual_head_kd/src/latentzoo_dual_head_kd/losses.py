"""Distillation losses of DHKD as ``loss(model, batch)`` modules (arXiv:2411.08937).

All of them distil from a frozen teacher that an earlier stage trained: the stage sets
``inputs = { teacher = "<teacher stage>" }`` and the loss finds the model in
``ctx.artifacts["teacher"]`` when it is built. :class:`FrozenTeacher` holds a copy of it in
eval mode, under ``no_grad``, with ``requires_grad = False`` (so it never joins the optimiser
and gets no weight decay); being a sub-module of the loss it is checkpointed with it.

One module, :class:`Distillation`, computes

    L = γ·CE(z₁, y) + β·KD_T(z₁, z_t) + α·Logit_T'(z_h, z_t)           (paper Eq. 8 with β = 0)

where z₁ is the student's test-time head, z_h the head the logit loss acts on (z₁ for the
single-head ablation, z₂ for DHKD), KD the softmax KD of ``objectives.softmax_kd`` and Logit
BinaryKL or BinaryKL-Norm. The registered losses are presets of it:

=================================  ======================================================
``dual_head_kd.kd``                γ·CE(z₁) + α·KD_T(z₁), T = 4 (Hinton KD baseline)
``dual_head_kd.binary_kl``         α·BinaryKL_T(z₁) (+ optional γ·CE), T = 2
``dual_head_kd.binary_kl_norm``    α·BinaryKL-Norm_T(z₁) (+ optional γ·CE), T = 2
``dual_head_kd.single_head_ce_bkl``  γ·CE(z₁) + α·BinaryKL_T(z₁): the collapse ablation (Sec. 3)
``dual_head_kd.dhkd``              γ·CE(z₁) + α·BinaryKL-Norm_T(z₂) [+ β·KD(z₁)], with GA
=================================  ======================================================

With ``grad_align = true`` the objectives ``[γ·CE, β·KD + α·Logit]`` are combined by the
gradient alignment of :mod:`latentzoo_dual_head_kd.grad_align` (the official ``--ga``).
"""

from __future__ import annotations

import copy

import attrs
import torch
import torch.nn.functional as F
from latentzoo.config import option
from latentzoo.errors import UserError
from torch import nn

from latentzoo_dual_head_kd.grad_align import aligned_surrogate
from latentzoo_dual_head_kd.objectives import CLAMPS, LOGIT_LOSSES, softmax_kd

__all__ = ["Distillation", "FrozenTeacher", "dhkd", "kd", "binary_kl", "binary_kl_norm",
           "single_head_ce_bkl"]


class FrozenTeacher(nn.Module):
    """A copy of a trained model that stays in eval mode and returns logits without gradients."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = copy.deepcopy(model)
        self.model.requires_grad_(False)
        self.model.eval()

    def train(self, mode: bool = True) -> FrozenTeacher:
        return super().train(False)  # BatchNorm / dropout of the teacher stay in eval mode

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def teacher_from(ctx, key: str, name: str) -> FrozenTeacher:
    artifacts = getattr(ctx, "artifacts", None) or {}
    if key not in artifacts:
        raise UserError(
            f"{name} distils from a trained teacher, but the stage has no artifact '{key}'; "
            f"train the teacher in an earlier stage and set inputs = {{ {key} = \"<that stage>\" }} "
            f"on this stage (artifacts present: {', '.join(artifacts) or 'none'})")
    teacher = artifacts[key]
    if not isinstance(teacher, nn.Module):
        raise UserError(f"{name}: artifact '{key}' is a {type(teacher).__name__}, not a model")
    return FrozenTeacher(teacher)


def student_heads(model: nn.Module, x: torch.Tensor, need_head2: bool, name: str):
    """``(z₁, z₂)`` of a dual-head student, or ``(model(x), None)`` of any classifier."""
    forward_heads = getattr(model, "forward_heads", None)
    if forward_heads is None:
        if need_head2:
            raise UserError(f"{name} puts its logit loss on an auxiliary head, but the student "
                            f"({type(model).__name__}) has none: use the model "
                            "dual_head_kd.dual_head with head2 = 'linear' or 'mlp'")
        return model(x), None
    z1, z2 = forward_heads(x)
    if need_head2 and z2 is None:
        raise UserError(f"{name} puts its logit loss on head 2, but the student was built with "
                        "head2 = 'none'; set head2 = 'linear' or 'mlp' on dual_head_kd.dual_head")
    return z1, z2


class Distillation(nn.Module):
    """``γ·CE(z₁, y) + β·KD_T(z₁, z_t) + α·Logit_T'(z_h, z_t)``, optionally gradient-aligned.

    Args:
        teacher: the frozen teacher.
        ce_weight: γ. kd_weight: β (softmax KD on head 1). logit_weight: α.
        kd_temperature: T of softmax KD. logit_temperature: T of BinaryKL(-Norm).
        logit_loss: ``binary_kl`` or ``binary_kl_norm``. logit_head: 1 or 2.
        grad_align: combine ``[γ·CE, β·KD + α·Logit]`` by gradient alignment.
        clamp: ``log_space`` (exact) or ``official`` (the official [1e-8, 1 − 1e-8] clamp).
    """

    def __init__(self, teacher: FrozenTeacher, *, ce_weight: float, kd_weight: float, kd_temperature: float,
                 logit_loss: str, logit_weight: float, logit_temperature: float, logit_head: int,
                 grad_align: bool = False, clamp: str = "log_space", name: str = "dual_head_kd"):
        super().__init__()
        self.teacher = teacher
        self.ce_weight, self.kd_weight, self.logit_weight = ce_weight, kd_weight, logit_weight
        self.kd_temperature, self.logit_temperature = kd_temperature, logit_temperature
        self.logit_loss, self.logit_head = LOGIT_LOSSES[logit_loss], logit_head
        self.grad_align, self.clamp, self.name = grad_align, clamp, name

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x = batch["x"]
        z_t = self.teacher(x).float()
        use_head2 = self.logit_head == 2 and self.logit_weight > 0
        z1, z2 = student_heads(model, x, use_head2, self.name)
        zero = z1.new_zeros(())
        logs: dict[str, torch.Tensor] = {}
        ce = F.cross_entropy(z1, batch["y"]) if self.ce_weight > 0 else zero
        kd = softmax_kd(z1.float(), z_t, self.kd_temperature) if self.kd_weight > 0 else zero
        if self.logit_weight > 0:
            z_h = z2 if use_head2 else z1
            logit = self.logit_loss(z_h.float(), z_t, self.logit_temperature, self.clamp)
        else:
            logit = zero
        classification = self.ce_weight * ce
        distill = self.kd_weight * kd + self.logit_weight * logit
        logs.update(ce=ce.detach(), kd=kd.detach(), logit=logit.detach())
        if self.grad_align and torch.is_grad_enabled() and classification.requires_grad \
                and distill.requires_grad:
            params = [p for p in model.parameters() if p.requires_grad]
            params += [p for p in self.parameters() if p.requires_grad]
            total, conflict = aligned_surrogate(classification, distill, params)
            logs["ga_conflict"] = torch.tensor(float(conflict), device=total.device)
        else:
            total = classification + distill
        return {"loss": total, **logs}


# ---------------------------------------------------------------------------------------------
# Registered presets
# ---------------------------------------------------------------------------------------------

_TEACHER_DOC = "key of the frozen teacher in ctx.artifacts (the stage's inputs = { teacher = ... })"


@attrs.frozen
class KDConfig:
    ce_weight: float = option(1.0, "γ: weight of CE(z₁, y)", ge=0)
    kd_weight: float = option(1.0, "α: weight of the softmax KD term", ge=0)
    temperature: float = option(4.0, "T of softmax KD (official kd_T = 4)", gt=0)
    teacher: str = option("teacher", _TEACHER_DOC)


def kd(config: KDConfig, ctx) -> Distillation:
    """Hinton KD baseline (official ``--distill kd``): γ·CE(z₁) + α·T²·KL(p_t^T ‖ p_s^T)."""
    name = "dual_head_kd.kd"
    return Distillation(teacher_from(ctx, config.teacher, name), ce_weight=config.ce_weight,
                        kd_weight=config.kd_weight, kd_temperature=config.temperature,
                        logit_loss="binary_kl", logit_weight=0.0, logit_temperature=2.0, logit_head=1,
                        name=name)


@attrs.frozen
class LogitLossConfig:
    weight: float = option(1.0, "α: weight of the logit loss", gt=0)
    ce_weight: float = option(0.0, "γ: weight of CE(z₁, y) (0: pure distillation)", ge=0)
    temperature: float = option(2.0, "T (official BinaryKL_T = 2)", gt=0)
    clamp: str = option("log_space", "log_space: exact log-sigmoid form; official: clamp to "
                        "[1e-8, 1-1e-8] as the official code", choices=CLAMPS)
    teacher: str = option("teacher", _TEACHER_DOC)


def _logit_preset(config: LogitLossConfig, ctx, loss: str, name: str) -> Distillation:
    return Distillation(teacher_from(ctx, config.teacher, name), ce_weight=config.ce_weight,
                        kd_weight=0.0, kd_temperature=4.0, logit_loss=loss, logit_weight=config.weight,
                        logit_temperature=config.temperature, logit_head=1, clamp=config.clamp, name=name)


def binary_kl(config: LogitLossConfig, ctx) -> Distillation:
    """BinaryKL on the student's (single / first) head."""
    return _logit_preset(config, ctx, "binary_kl", "dual_head_kd.binary_kl")


def binary_kl_norm(config: LogitLossConfig, ctx) -> Distillation:
    """BinaryKL-Norm on the student's (single / first) head."""
    return _logit_preset(config, ctx, "binary_kl_norm", "dual_head_kd.binary_kl_norm")


@attrs.frozen
class SingleHeadConfig:
    ce_weight: float = option(1.0, "γ: weight of CE(z₁, y)", ge=0)
    weight: float = option(1.0, "α: weight of BinaryKL(z₁, z_t)", gt=0)
    temperature: float = option(2.0, "T of BinaryKL", gt=0)
    logit_loss: str = option("binary_kl", "the logit loss on head 1", choices=tuple(LOGIT_LOSSES))
    clamp: str = option("log_space", "log_space or official (see dual_head_kd.binary_kl)", choices=CLAMPS)
    teacher: str = option("teacher", _TEACHER_DOC)


def single_head_ce_bkl(config: SingleHeadConfig, ctx) -> Distillation:
    """The ablation of Sec. 3: CE and BinaryKL on the same linear classifier."""
    name = "dual_head_kd.single_head_ce_bkl"
    return Distillation(teacher_from(ctx, config.teacher, name), ce_weight=config.ce_weight, kd_weight=0.0,
                        kd_temperature=4.0, logit_loss=config.logit_loss, logit_weight=config.weight,
                        logit_temperature=config.temperature, logit_head=1, clamp=config.clamp, name=name)


@attrs.frozen
class DHKDConfig:
    ce_weight: float = option(1.0, "γ: weight of CE(z₁, y) (official -r)", ge=0)
    weight: float = option(1.0, "α: weight of the logit loss on head 2 (official -a; CIFAR 1, ImageNet 0.1)", gt=0)
    temperature: float = option(2.0, "T of the logit loss (official BinaryKL_T = 2)", gt=0)
    logit_loss: str = option("binary_kl_norm", "logit loss on head 2 (the paper: BinaryKL-Norm)",
                             choices=tuple(LOGIT_LOSSES))
    kd_weight: float = option(0.0, "β: softmax KD on head 1 (the released DHKD has none)", ge=0)
    kd_temperature: float = option(4.0, "T of the optional softmax KD on head 1", gt=0)
    grad_align: bool = option(True, "gradient alignment of [γ·CE, distillation] (official --ga; CIFAR on, ImageNet off)")
    clamp: str = option("log_space", "log_space or official (see dual_head_kd.binary_kl)", choices=CLAMPS)
    teacher: str = option("teacher", _TEACHER_DOC)


def dhkd(config: DHKDConfig, ctx) -> Distillation:
    """DHKD: γ·CE(z₁, y) + α·BinaryKL-Norm(z₂, z_t) on a dual-head student, optionally with GA."""
    name = "dual_head_kd.dhkd"
    if config.grad_align and config.ce_weight == 0:
        raise UserError(f"{name}: grad_align projects the distillation gradient off the CE "
                        "gradient, which is zero with ce_weight = 0; set ce_weight > 0 or grad_align = false")
    return Distillation(teacher_from(ctx, config.teacher, name), ce_weight=config.ce_weight,
                        kd_weight=config.kd_weight, kd_temperature=config.kd_temperature,
                        logit_loss=config.logit_loss, logit_weight=config.weight,
                        logit_temperature=config.temperature, logit_head=2,
                        grad_align=config.grad_align, clamp=config.clamp, name=name)
