"""A-MIM, VAE and contrastive MIM (cMIM) objectives (Livne 2025, arXiv 2502.19642).

Notation: for a batch x_1..x_B, one reparameterised z_i ~ q(z|x_i) per example is shared by
every term (MIM repo convention); all log-densities are summed over the feature dimension
(``reconstruction = "mean"`` divides log p(x|z) by the number of input features instead, as
KERMT averages its token cross-entropy), and each loss is the batch mean of a per-example
value. Write

    lpx_i = log p(x_i|z_i),   lpz_i = log P(z_i),   lqz_i = log q(z_i|x_i).

A-MIM (MIM, arXiv 1910.03175; trained on samples of the encoding distribution P(x) q(z|x)):

    form = "impl"  (C: KERMT cMIM code, = NeMo's A-MIM hidden loss)
        L_i = −lpx_i − ½ (lpz_i + lqz_i)                                              (A1)
    form = "paper" (MIM repo ``loss_function_mim``, log q(x) a data constant, dropped)
        L_i = −½ [lpx_i + lpz_i + β (lqz_i + log q(x_i))],  β = min(1, step / warmup)  (A2)
    with qx = "marginal" (the repo's default) log q(x_i) ≈ lpx_i + lpz_i − lqz_i at the same
    z_i, so (A2) becomes −½ (1 + β)(lpx_i + lpz_i): log q(z|x) cancels exactly.

VAE (ELBO; the repo's ``loss_function_vae``):

    L_i = −lpx_i + β (lqz_i − lpz_i)                                                   (V)

cMIM contrastive factor (C; the paper's §2.2 "probabilistic per-sample term" with pairwise
similarities s_ij and temperature τ, which needs no positive augmentation): the sample's own
code is identified among the other codes of the batch,

    s_ij = cos(z_i, z_j)  (so s_ii = 1)
    log p(k=1 | z_i, x_i) = s_ii/τ − log[ e^{s_ii/τ} + (1/(B−1)) Σ_{j≠i} e^{s_ij/τ} ]        (C1)
    L_con = −mean_i log p(k=1 | z_i, x_i);  B = 1 gives 0.

The negatives enter as a mean, so duplicating every negative leaves (C1) unchanged (the v1
abstract: robust to the number of negatives). Ablation ``similarity = "density"`` (R, ours):
s_ij/τ is replaced by log q(z_i | x_j).

cMIM total (C), unit weights:

    L = mean_i [ −lpx_i − log p(k=1 | z_i, x_i) − ½ (lqz_i + lpz_i) ]  =  (A1) + L_con       (C2)

``cmim.total`` computes A-MIM in either form plus λ·L_con (λ = 1 is (C2)).
"""

from __future__ import annotations

import math

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError
from torch import nn

from latentzoo_cmim.models import gaussian_log_prob
from latentzoo_cmim.priors import make_prior

__all__ = ["amim_objective", "vae_objective", "contrastive_log_prob", "cosine_logits",
           "density_logits", "AMIMConfig", "VAEConfig", "ContrastiveConfig", "CMIMConfig",
           "AMIMLoss", "VAELoss", "ContrastiveLoss", "CMIMLoss"]


# ---------------------------------------------------------------------------------------------
# Per-example formulas (tested by hand)
# ---------------------------------------------------------------------------------------------


def amim_objective(lpx: torch.Tensor, lpz: torch.Tensor, lqz: torch.Tensor, form: str = "impl",
                   beta: float = 1.0, qx: str = "none") -> torch.Tensor:
    """Per-example A-MIM loss: (A1) for ``form="impl"``, (A2) for ``form="paper"``."""
    if form == "impl":
        return -lpx - 0.5 * (lpz + lqz)
    if form != "paper":
        raise ValueError(f"unknown A-MIM form {form!r}: use 'impl' or 'paper'")
    if qx == "none":
        log_qx = torch.zeros_like(lpx)
    elif qx == "marginal":
        log_qx = lpx + lpz - lqz  # the repo's single-sample marginal estimate at the same z
    else:
        raise ValueError(f"unknown q(x) {qx!r}: use 'none' or 'marginal'")
    return -0.5 * (lpx + lpz + beta * (lqz + log_qx))


def vae_objective(lpx: torch.Tensor, lpz: torch.Tensor, lqz: torch.Tensor,
                  beta: float = 1.0) -> torch.Tensor:
    """Per-example negative ELBO with a single-sample KL estimate, (V)."""
    return -lpx + beta * (lqz - lpz)


def cosine_logits(z: torch.Tensor, temperature: float, eps: float = 1e-8) -> torch.Tensor:
    """(B, B) s_ij / τ with s_ij = cos(z_i, z_j); ``eps`` guards the normalisation."""
    unit = z / z.norm(dim=1, keepdim=True).clamp_min(eps)
    return unit @ unit.T / temperature


def density_logits(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """(B, B) log q(z_i | x_j) = log N(z_i; μ_j, diag σ_j²) (R: the ``density`` ablation)."""
    return gaussian_log_prob(z[:, None, :], mu[None, :, :], logvar[None, :, :])


def contrastive_log_prob(logits: torch.Tensor) -> torch.Tensor:
    """(C1) from a (B, B) logit matrix whose diagonal holds the own-code logit: (B,).

    log p(k=1|z_i, x_i) = l_ii − log[e^{l_ii} + mean_{j≠i} e^{l_ij}], via logsumexp with a
    −log(B−1) shift. A batch of one has no negatives: the term is 0.
    """
    b = logits.shape[0]
    if b < 2:
        return torch.zeros(b, dtype=logits.dtype, device=logits.device)
    own = logits.diagonal()
    off_diagonal = ~torch.eye(b, dtype=torch.bool, device=logits.device)
    negatives = logits.masked_select(off_diagonal).reshape(b, b - 1)
    mean_negative = torch.logsumexp(negatives, dim=1) - math.log(b - 1)
    return own - torch.logaddexp(own, mean_negative)


# ---------------------------------------------------------------------------------------------
# Configs
# ---------------------------------------------------------------------------------------------


@attrs.define(frozen=True, slots=False)
class _PriorFields:
    prior: str = option("normal", "P(z): anchor N(0, I) (MIM, C) or a learnable mixture of Gaussians",
                        choices=("normal", "mog"))
    prior_components: int = option(10, "mixture components K (prior = 'mog'; the MIM repo's ablation)", gt=0)
    latent_dim: int = option(16, "d_z of the model: sizes the mixture prior (prior = 'mog')", gt=0)
    prior_truncate: bool = option(False, "prior = 'mog': drop components whose logit is below "
                                  "mean − std, as the MIM repo's GMMPriorLayer does")
    reconstruction: str = option("sum", "log p(x|z) summed over the input's features (MIM repo) or "
                                 "averaged over them (KERMT's per-token mean cross-entropy)",
                                 choices=("sum", "mean"))


@attrs.define(frozen=True, slots=False)
class _AMIMFields(_PriorFields):
    form: str = option("impl", "A-MIM form: 'impl' (A1, C and NeMo) or 'paper' (A2, MIM repo)",
                       choices=("impl", "paper"))
    qx: str = option("none", "log q(x) in form 'paper': dropped constant, or the repo's marginal estimate",
                     choices=("none", "marginal"))
    warmup_steps: int = option(0, "β = min(1, step / warmup_steps) in form 'paper' (0: β = 1)", ge=0)


@attrs.define(frozen=True, slots=False)
class _ContrastiveFields:
    temperature: float = option(0.1, "temperature τ of (C1)", gt=0)
    similarity: str = option("cosine", "s_ij: cosine of the sampled codes (C), or log q(z_i|x_j) (R)",
                             choices=("cosine", "density"))


@attrs.frozen
class AMIMConfig(_AMIMFields):
    pass


@attrs.frozen
class CMIMConfig(_AMIMFields, _ContrastiveFields):
    weight: float = option(1.0, "λ multiplying L_con (1: the unit weights of C2)", ge=0)


@attrs.frozen
class ContrastiveConfig(_ContrastiveFields):
    pass


@attrs.frozen
class VAEConfig(_PriorFields):
    beta: float = option(1.0, "β on the KL term of (V)", ge=0)
    warmup_steps: int = option(0, "β ramps linearly from 0 over this many steps (0: constant β)", ge=0)


# ---------------------------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------------------------


def _check_model(model: nn.Module, who: str) -> None:
    for method in ("encode", "reparameterize", "log_likelihood"):
        if not callable(getattr(model, method, None)):
            raise UserError(f"{who} needs a probabilistic auto-encoder with encode(), "
                            f"reparameterize() and log_likelihood() such as cmim.autoencoder; "
                            f"{type(model).__name__} has no {method}()")


class _LatentObjective(nn.Module):
    """Owns the prior and the step counter of the β warm-up (a checkpointed buffer)."""

    who = "cmim"

    def __init__(self, config, ctx=None):
        super().__init__()
        seed = getattr(ctx, "seed", 0) if ctx is not None else 0
        self.latent_dim = config.latent_dim
        self.prior_kind = config.prior
        self.prior = make_prior(config.prior, config.latent_dim, config.prior_components, seed,
                                config.prior_truncate)
        self.warmup_steps = config.warmup_steps
        self.reconstruction = config.reconstruction
        self.register_buffer("step", torch.zeros((), dtype=torch.long))

    @property
    def beta_factor(self) -> float:
        if self.warmup_steps == 0:
            return 1.0
        return min(1.0, int(self.step) / self.warmup_steps)

    def after_step(self, model=None, step: int | None = None) -> None:
        self.step.fill_(int(step) if step is not None else int(self.step) + 1)

    def terms(self, model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """One reparameterised z per x and the three log-densities at it."""
        _check_model(model, self.who)
        mu, logvar = model.encode(x)
        if self.prior_kind == "mog" and mu.shape[1] != self.latent_dim:
            raise UserError(f"{self.who}: latent_dim = {self.latent_dim} sizes the mixture prior, "
                            f"but the model's codes have {mu.shape[1]} dimensions; set them equal")
        z = model.reparameterize(mu, logvar)
        lpx = model.log_likelihood(x, z)
        if self.reconstruction == "mean":  # per feature, as KERMT averages its token cross-entropy
            lpx = lpx / x[0].numel()
        return {"mu": mu, "logvar": logvar, "z": z, "lpx": lpx,
                "lpz": self.prior(z), "lqz": gaussian_log_prob(z, mu, logvar)}


class AMIMLoss(_LatentObjective):
    """``cmim.amim``: A-MIM, (A1) or (A2)."""

    who = "cmim.amim"

    def __init__(self, config: AMIMConfig, ctx=None):
        super().__init__(config, ctx)
        self.form, self.qx = config.form, config.qx

    def amim(self, t: dict[str, torch.Tensor]) -> torch.Tensor:
        beta = self.beta_factor if self.form == "paper" else 1.0
        return amim_objective(t["lpx"], t["lpz"], t["lqz"], self.form, beta, self.qx).mean()

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        t = self.terms(model, batch["x"])
        return {"loss": self.amim(t), **_logs(t)}


class CMIMLoss(AMIMLoss):
    """``cmim.total``: A-MIM + λ·L_con; with form 'impl' and λ = 1 it is (C2)."""

    who = "cmim.total"

    def __init__(self, config: CMIMConfig, ctx=None):
        super().__init__(config, ctx)
        self.weight = config.weight
        self.temperature, self.similarity = config.temperature, config.similarity

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        t = self.terms(model, batch["x"])
        contrastive = -_contrastive(t, self.temperature, self.similarity).mean()
        amim = self.amim(t)
        return {"loss": amim + self.weight * contrastive, "amim": amim.detach(),
                "contrastive": contrastive.detach(), **_logs(t)}


class ContrastiveLoss(nn.Module):
    """``cmim.contrastive``: L_con alone, −mean_i (C1), on z_i ~ q(z|x_i)."""

    def __init__(self, config: ContrastiveConfig, ctx=None):
        super().__init__()
        self.temperature, self.similarity = config.temperature, config.similarity

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        _check_model(model, "cmim.contrastive")
        mu, logvar = model.encode(batch["x"])
        z = model.reparameterize(mu, logvar)
        t = {"mu": mu, "logvar": logvar, "z": z}
        return -_contrastive(t, self.temperature, self.similarity).mean()


class VAELoss(_LatentObjective):
    """``cmim.vae``: the β-ELBO (V) on the same auto-encoder."""

    who = "cmim.vae"

    def __init__(self, config: VAEConfig, ctx=None):
        super().__init__(config, ctx)
        self.beta = config.beta

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        t = self.terms(model, batch["x"])
        loss = vae_objective(t["lpx"], t["lpz"], t["lqz"], self.beta * self.beta_factor).mean()
        return {"loss": loss, **_logs(t)}


def _contrastive(t: dict[str, torch.Tensor], temperature: float, similarity: str) -> torch.Tensor:
    if similarity == "cosine":
        logits = cosine_logits(t["z"], temperature)
    else:
        logits = density_logits(t["z"], t["mu"], t["logvar"])
    return contrastive_log_prob(logits)


def _logs(t: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Training logs: the three log-densities and the encoder's mean log σ² (detached)."""
    return {"log_px_z": t["lpx"].detach().mean(), "log_pz": t["lpz"].detach().mean(),
            "log_qz_x": t["lqz"].detach().mean(), "encoder_logvar": t["logvar"].detach().mean()}
