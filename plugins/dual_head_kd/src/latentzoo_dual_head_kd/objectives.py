"""The distillation objectives of DHKD as plain functions of logits.

Dual-Head Knowledge Distillation: Enhancing Logits Utilization with an Auxiliary Head,
Yang, Zong, Huang, Feng, An, arXiv:2411.08937. Official code: github.com/penghui-yang/DHKD
(``distiller_zoo/BinaryKL.py``, ``BinaryKLNorm.py``, ``KD.py``).

Every objective is reduced as in the official code: ``T² · (sum over all N×C elements) / N``,
i.e. summed over classes and averaged over the batch, so its size grows with the class count C.

- ``softmax_kd`` (Hinton et al. 2015; the paper's Eq. 1):
  ``T²/N · Σ_i KL(softmax(z_t/T) ‖ softmax(z_s/T))``.
- ``binary_kl`` (the paper's BinaryKL, Sec. 3): each class logit is a Bernoulli with
  ``s = σ(z_s/T)``, ``t = σ(z_t/T)``;
  ``T²/N · Σ_{i,c} [t log(t/s) + (1−t) log((1−t)/(1−s))]``.
  Unlike softmax KD it sees a uniform shift of the logits: it is 0 iff ``z_s = z_t``.
- ``binary_kl_norm`` (BinaryKL-Norm, the loss DHKD puts on head 2): ``u = σ((z_s − z_t)/T)``
  matched to the target ½; ``KL(Bern(½) ‖ Bern(u)) = log cosh((z_s − z_t)/(2T))``, hence
  ``T²/N · Σ_{i,c} log cosh((z_s − z_t)/(2T))``, gradient ``(T/2)·tanh((z_s − z_t)/(2T))/N``.

``clamp="log_space"`` (default) takes every log through log-sigmoid / a stable log cosh and is
exact at every input. ``clamp="official"`` reproduces the official code: probabilities clamped
to ``[1e-8, 1 − 1e-8]`` *in the input dtype*. In float32 ``1 − 1e-8`` rounds to 1, so the upper
clamp does nothing and the official losses become +inf (NaN gradients) once ``1 − σ`` underflows
(BinaryKL-Norm from ``(z_s − z_t)/T ≈ 16.6``); in float64 the clamp caps the value and zeroes the
gradient past ``|z_s − z_t|/T ≈ 18.42``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["CLAMPS", "EPS", "binary_kl", "binary_kl_norm", "softmax_kd", "LOGIT_LOSSES"]

EPS = 1e-8  # the official clamp of the Bernoulli probabilities
CLAMPS = ("log_space", "official")
LOG2 = math.log(2.0)


def _reduce(elements: torch.Tensor, temperature: float) -> torch.Tensor:
    """``T² · Σ elements / N`` (sum over classes, mean over the batch)."""
    return temperature ** 2 * elements.sum() / elements.shape[0]


def softmax_kd(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 4.0) -> torch.Tensor:
    """Hinton KD: ``T²/N · Σ_i KL(softmax(z_t/T) ‖ softmax(z_s/T))`` (official ``DistillKL``)."""
    log_p_s = F.log_softmax(student / temperature, dim=1)
    log_p_t = F.log_softmax(teacher / temperature, dim=1)
    elements = F.kl_div(log_p_s, log_p_t, reduction="none", log_target=True)
    return _reduce(elements, temperature)


def _bernoulli_kl_official(log_s, log_1ms, t):
    # KLDivLoss(log s, t) + KLDivLoss(log(1 − s), 1 − t), as torch's kl_div: xlogy(t, t) − t·log s
    return F.kl_div(log_s, t, reduction="none") + F.kl_div(log_1ms, 1 - t, reduction="none")


def binary_kl(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 2.0,
              clamp: str = "log_space") -> torch.Tensor:
    """BinaryKL: per-class Bernoulli KL(σ(z_t/T) ‖ σ(z_s/T)), ``T²``-scaled, summed, / N."""
    if clamp == "official":
        s = torch.sigmoid(student / temperature).clamp(EPS, 1 - EPS)
        t = torch.sigmoid(teacher / temperature).clamp(EPS, 1 - EPS)
        return _reduce(_bernoulli_kl_official(torch.log(s), torch.log(1 - s), t), temperature)
    _check_clamp(clamp)
    log_s, log_1ms = F.logsigmoid(student / temperature), F.logsigmoid(-student / temperature)
    log_t, log_1mt = F.logsigmoid(teacher / temperature), F.logsigmoid(-teacher / temperature)
    t, one_minus_t = log_t.exp(), log_1mt.exp()
    elements = t * (log_t - log_s) + one_minus_t * (log_1mt - log_1ms)
    return _reduce(elements, temperature)


def log_cosh(x: torch.Tensor) -> torch.Tensor:
    """``log cosh x = |x| + log(1 + e^{−2|x|}) − log 2``, finite for every finite x."""
    a = x.abs()
    return a + F.softplus(-2 * a) - LOG2


def binary_kl_norm(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 2.0,
                   clamp: str = "log_space") -> torch.Tensor:
    """BinaryKL-Norm: ``KL(Bern(½) ‖ Bern(σ((z_s − z_t)/T)))`` = ``log cosh((z_s − z_t)/(2T))``."""
    difference = (student - teacher) / temperature
    if clamp == "official":
        u = torch.sigmoid(difference).clamp(EPS, 1 - EPS)
        half = torch.full_like(u, 0.5)
        return _reduce(_bernoulli_kl_official(torch.log(u), torch.log(1 - u), half), temperature)
    _check_clamp(clamp)
    return _reduce(log_cosh(difference / 2), temperature)


def _check_clamp(clamp: str) -> None:
    if clamp not in CLAMPS:
        raise ValueError(f"clamp must be one of {', '.join(CLAMPS)}, found {clamp!r}")


LOGIT_LOSSES = {"binary_kl": binary_kl, "binary_kl_norm": binary_kl_norm}
