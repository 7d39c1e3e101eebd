"""GEDI's objective (Sansone & Manhaeve, arXiv 2401.00873): generative + invariance + prior.

The paper bounds the data log-likelihood of a graphical model over x, an augmented view x′
and a cluster label y with three terms, one per failure mode of self-supervised clustering:

    L = w_gen · L_GEN + 0.5 · L_PRIOR + 0.5 · β · L_INV

with the logits f(x) of one network (``GEDINetwork``: projector(backbone(x)) / τ):

- L_PRIOR = −Σ_c log( (1/N) Σ_n softmax(f(x_n))_c )                      (cluster collapse)
  on view 1 only, as in the author's CPLearn code (``solo/losses/gedi_nogen.py``). Here the
  log-mean is taken in log space, logsumexp_n(log_softmax(f(x_n))_c) − log N: equal to the
  official value wherever that is finite, and finite where the official float32 value is +inf
  (an unused cluster's mean underflows to 0). ≥ C·log C, with equality iff the batch-mean
  assignment is uniform.
- L_INV = −(1/N) Σ_n Σ_c softmax(f(x′_n))_c · log_softmax(f(x_n))_c      (permutation ambiguity)
        = −mean_n Σ_c softmax(f2)_c f1_c + mean_n logsumexp_c f1         (the code form, used here)
  with x = view 1 and x′ = view 2, not symmetrised, gradients through both views.
- L_GEN = mean_data E(x) − mean_samples E(x̃),  E(x) = −logsumexp_c f(x)_c    (representation collapse)
  x̃ from SGLD, x_{t+1} = x_t − η ∇_x E(x_t) + s·ε, started from a replay buffer (JEM,
  Grathwohl et al. 2020, arXiv 1912.03263) and detached. A magnitude penalty
  α·mean(E(x)² + E(x̃)²) (JEM-family practice, not from the GEDI paper) keeps energies bounded.

The returned total is the official ``gedi_nogen_loss_func`` value (0.5·L_PRIOR + 0.5·β·L_INV)
plus the generative part. The SGLD constants, w_gen and α are tuned values for the 2-D toys;
the paper's are not verified (see the README).

All state across steps (the SGLD replay buffer and the data box it re-initialises from) lives
in buffers of the loss module, so a checkpoint carries it and a resumed run continues exactly.
In several processes DDP broadcasts module buffers from rank 0 before each forward, so every
process starts its chains from rank 0's buffer (with its own random draws); the parameters stay
identical across processes.
"""

from __future__ import annotations

import math

import attrs
import torch
import torch.nn.functional as F
from latentzoo.config import option
from latentzoo.errors import UserError
from torch import nn

__all__ = ["prior_loss", "invariance_loss", "invariance_cross_entropy", "energy", "sgld",
           "GEDIConfig", "NoGenConfig", "PriorConfig", "InvarianceConfig", "EBMConfig", "GEDILoss"]


# ---------------------------------------------------------------------------------------------
# The three terms
# ---------------------------------------------------------------------------------------------


def log_mean_assignment(logits: torch.Tensor) -> torch.Tensor:
    """log (1/N) Σ_n softmax(logits_n)  (C,), in log space: logsumexp_n log_softmax − log N."""
    return torch.logsumexp(F.log_softmax(logits, dim=1), dim=0) - math.log(len(logits))


def prior_loss(logits: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """L_PRIOR = −Σ_c log mean_n softmax(f(x_n))_c (view 1). ``eps`` > 0: clamp the mean at eps."""
    log_mean = log_mean_assignment(logits)
    if eps > 0:
        log_mean = log_mean.clamp(min=math.log(eps))
    return -log_mean.sum()


def invariance_loss(logits1: torch.Tensor, logits2: torch.Tensor) -> torch.Tensor:
    """L_INV in CPLearn's code form: −mean_n(softmax(f2)·f1).sum + mean_n logsumexp(f1)."""
    return (-(F.softmax(logits2, dim=1) * logits1).sum(1).mean()
            + torch.logsumexp(logits1, dim=1).mean())


def invariance_cross_entropy(logits1: torch.Tensor, logits2: torch.Tensor) -> torch.Tensor:
    """L_INV as written: −(1/N) Σ_n Σ_c softmax(f2)_c log_softmax(f1)_c (the test reference)."""
    return -(F.softmax(logits2, dim=1) * F.log_softmax(logits1, dim=1)).sum(1).mean()


def energy(logits: torch.Tensor) -> torch.Tensor:
    """E(x) = −logsumexp_c f(x)_c, per example (JEM's energy of a classifier's logits)."""
    return -torch.logsumexp(logits, dim=1)


def sgld(model: nn.Module, x: torch.Tensor, steps: int, step_size: float, noise: float) -> torch.Tensor:
    """``steps`` SGLD updates x ← x − η ∇_x E(x) + s·ε, ε ~ N(0, I) (global torch RNG); detached.

    Only the gradient with respect to x is computed: the parameters' ``.grad`` are untouched.
    """
    x = x.detach()
    for _ in range(steps):
        x.requires_grad_(True)
        grad, = torch.autograd.grad(energy(model(x)).sum(), x)
        x = (x - step_size * grad + noise * torch.randn_like(x)).detach()
    return x


# ---------------------------------------------------------------------------------------------
# Configs: one base, the registered variants differ only in their defaults
# ---------------------------------------------------------------------------------------------


@attrs.define(frozen=True, slots=False)
class _Options:
    gen_weight: float = option(1.0, "w_gen: weight of L_GEN (0: no SGLD, no replay buffer)", ge=0)
    prior_weight: float = option(0.5, "weight of L_PRIOR (official code: 0.5)", ge=0)
    beta: float = option(0.1, "β: L_INV enters as 0.5·β·L_INV (CPLearn CIFAR config: 0.1; function default 0.05)", ge=0)
    prior_eps: float = option(0.0, "clamp the batch-mean assignment at eps in L_PRIOR (0: none, log space only)", ge=0, lt=1)
    sgld_steps: int = option(20, "SGLD steps per training step (JEM: 20)", gt=0)
    sgld_step_size: float = option(0.01, "η of x ← x − η∇E + sε (JEM images: 1; 2-D toys: 0.01–0.1)", gt=0)
    sgld_noise: float = option(0.005, "s of x ← x − η∇E + sε (JEM: 0.01; 2-D toys: 0.005)", ge=0)
    buffer_size: int = option(10000, "replay-buffer size (JEM: 10k)", gt=0)
    reinit_prob: float = option(0.05, "probability that a chain restarts from Uniform(data box) (JEM: 0.05)", ge=0, le=1)
    box_margin: float = option(0.0, "the data box (per-feature training min/max) is widened by this fraction of its size", ge=0)
    energy_l2: float = option(0.01, "α of α·mean(E(x)² + E(x̃)²), a stabiliser (not in the paper; spec: 0.1)", ge=0)


@attrs.frozen
class GEDIConfig(_Options):
    """``gedi.total``: w_gen·L_GEN + 0.5·L_PRIOR + 0.5·β·L_INV."""


@attrs.frozen
class NoGenConfig(_Options):
    """``gedi.nogen``: CPLearn's ``gedi_nogen_loss_func``, 0.5·L_PRIOR + 0.5·β·L_INV."""

    gen_weight: float = option(0.0, "w_gen: weight of L_GEN (0: no SGLD, no replay buffer)", ge=0)


@attrs.frozen
class PriorConfig(_Options):
    """``gedi.prior``: L_PRIOR alone."""

    gen_weight: float = option(0.0, "w_gen: weight of L_GEN (0: no SGLD, no replay buffer)", ge=0)
    prior_weight: float = option(1.0, "weight of L_PRIOR", ge=0)
    beta: float = option(0.0, "β: L_INV enters as 0.5·β·L_INV", ge=0)


@attrs.frozen
class InvarianceConfig(_Options):
    """``gedi.invariance``: L_INV alone (β = 2 gives weight 0.5·β = 1)."""

    gen_weight: float = option(0.0, "w_gen: weight of L_GEN (0: no SGLD, no replay buffer)", ge=0)
    prior_weight: float = option(0.0, "weight of L_PRIOR", ge=0)
    beta: float = option(2.0, "β: L_INV enters as 0.5·β·L_INV", ge=0)


@attrs.frozen
class EBMConfig(_Options):
    """``gedi.ebm``: L_GEN alone (JEM without labels), clusters read off argmax f(x)."""

    prior_weight: float = option(0.0, "weight of L_PRIOR", ge=0)
    beta: float = option(0.0, "β: L_INV enters as 0.5·β·L_INV", ge=0)


# ---------------------------------------------------------------------------------------------
# The loss module
# ---------------------------------------------------------------------------------------------


def _data_box(ctx, margin: float) -> tuple[torch.Tensor, torch.Tensor]:
    splits = getattr(ctx, "splits", None)
    if splits is None or "train" not in splits.splits:
        raise UserError("the generative term needs the stage's training data (its per-feature "
                        "min/max bounds the SGLD re-initialisation)")
    x = splits.split("train")["x"].float()
    low, high = x.min(0).values, x.max(0).values
    widen = margin * (high - low)
    return low - widen, high + widen


class GEDILoss(nn.Module):
    """``loss(model, {x1, x2}) = w_gen·L_GEN + w_prior·L_PRIOR + 0.5·β·L_INV``; logs each term.

    The replay buffer (``buffer``, initialised from Uniform(data box) with a generator seeded
    by the stage seed) and the box are buffers, hence checkpointed with the run.
    """

    def __init__(self, config: _Options, ctx=None):
        super().__init__()
        if config.gen_weight == 0 and config.prior_weight == 0 and config.beta == 0:
            raise UserError("gen_weight, prior_weight and beta are all 0: the loss would be 0; "
                            "set at least one of them > 0")
        self.config = config
        if config.gen_weight > 0:
            low, high = _data_box(ctx, config.box_margin)
            generator = torch.Generator().manual_seed(int(getattr(ctx, "seed", 0)))
            self.register_buffer("box_low", low)
            self.register_buffer("box_high", high)
            self.register_buffer("buffer", self._uniform(config.buffer_size, generator))

    def _uniform(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n points of Uniform(data box): from ``generator`` (CPU) or the global RNG (buffer's device)."""
        low, high = self.box_low, self.box_high
        if generator is not None:
            u = torch.rand((n, *low.shape), generator=generator, dtype=low.dtype).to(low.device)
        else:
            u = torch.rand((n, *low.shape), dtype=low.dtype, device=low.device)
        return low + (high - low) * u

    def sample(self, model: nn.Module, n: int) -> torch.Tensor:
        """n SGLD samples: chains from the replay buffer (re-initialised w.p. ``reinit_prob``), written back."""
        c = self.config
        index = torch.randint(0, len(self.buffer), (n,), device=self.buffer.device)
        start = self.buffer[index]
        restart = torch.rand(n, device=start.device) < c.reinit_prob
        start = torch.where(restart.view(-1, *([1] * (start.dim() - 1))), self._uniform(n), start)
        was_training = model.training
        model.eval()  # per-example energies even if a BatchNorm sits in the network
        try:
            with torch.enable_grad():
                samples = sgld(model, start, c.sgld_steps, c.sgld_step_size, c.sgld_noise)
        finally:
            model.train(was_training)
        self.buffer[index] = samples
        return samples

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if "x1" not in batch or "x2" not in batch:
            raise UserError(f"GEDI needs two views x1, x2 in the batch (found {', '.join(batch)}); set "
                            "a two-view sampler: gedi.gaussian_views (2-D), ssl.digits_twoview, ssl.shapes_twoview")
        c = self.config
        x1, x2 = batch["x1"], batch["x2"]
        # one forward per view, as in CPLearn (a BatchNorm projector normalises each view alone)
        f1, f2 = model(x1), model(x2)
        logs: dict[str, torch.Tensor] = {}
        total = torch.zeros((), device=f1.device, dtype=f1.dtype)
        if c.prior_weight > 0:
            logs["prior"] = prior_loss(f1, c.prior_eps)
            total = total + c.prior_weight * logs["prior"]
        if c.beta > 0:
            logs["invariance"] = invariance_loss(f1, f2)
            total = total + 0.5 * c.beta * logs["invariance"]
        if c.gen_weight > 0:
            samples = self.sample(model, len(x1))
            e_data, e_samples = energy(f1), energy(model(samples))
            logs["gen"] = e_data.mean() - e_samples.mean()
            logs["energy_data"], logs["energy_samples"] = e_data.mean(), e_samples.mean()
            penalty = c.energy_l2 * (e_data ** 2 + e_samples ** 2).mean()
            total = total + c.gen_weight * (logs["gen"] + penalty)
        with torch.no_grad():
            mean = F.softmax(f1.detach(), 1).mean(0)
            logs["usage_entropy"] = -(mean * mean.clamp_min(1e-30).log()).sum()
        return {"loss": total, **{k: v.detach() for k, v in logs.items()}}
