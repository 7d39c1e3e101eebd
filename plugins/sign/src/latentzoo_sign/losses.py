"""IGN's and SIGN's training terms, and the two objectives built from them.

IGN (Shocher et al. 2023, arXiv 2311.01462, Sec. 2 and its Source Code 1), f: X → X, θ′ a copy of
θ re-synced every step (not an EMA), D(a, b) = ‖a − b‖₁ (mean over elements):

- L_rec(x)  = D(f_θ(x), x) on data: data are fixed points;
- L_idem(z) = D(f_θ′(f_θ(z)), f_θ(z)): the gradient reaches θ only through the inner f_θ(z)
  (the outer f is the frozen copy);
- L_tight(z) = −D(f_θ(sg f_θ′(z)), sg f_θ′(z)), gradient only through the outer f_θ, clamped
  as tanh(L̃_tight/(a·L_rec))·a·L_rec, a = 1.5; IGN weights λ_rec = 20, λ_idem = 20, λ_tight = 2.5.

SIGN (Zaman, Liu, Chiu 2025, arXiv 2509.21470) keeps L_rec and L_idem and replaces the adversarial
L_tight by four score-based terms against a frozen diffusion teacher ε_φ (its Eq. 9 is a sum of six
terms with four weights; the paper body was not available, so the four terms below are
reconstructions (R) from consistency distillation (Song et al. 2023, arXiv 2303.01469) and DMD
(Yin et al. 2024, arXiv 2311.18828), which the paper draws on). On the teacher's DDPM chain
x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε (DDPM Eq. 4), its x̂_0 prediction is
D_φ(x_t, t) = (x_t − √(1 − ᾱ_t)·ε_φ(x_t, t))/√ᾱ_t (DDPM Eq. 15):

- L_flow (R): t ~ U{t_min..T−1}, s = t − Δ (s < 0: the clean end, ᾱ_s = 1), one deterministic
  teacher PF-ODE step x̂_s = √ᾱ_s·D_φ + √(1 − ᾱ_s)·ε_φ (DDIM Eq. 12 with η = 0, which is the Euler
  step of the PF-ODE in EDM's (x/√ᾱ, σ) coordinates, EDM Sec. 3); L = ‖f_θ(x_t) − sg f_θ⁻(x̂_s)‖²
  (mean), θ⁻ an EMA of θ (the consistency-distillation target network);
- L_dmd (R): x = f_θ(z), t ~ U{t_lo..t_hi}, x_t noised from x, r = D_φ(x_t, t), q = D_ψ(x_t, t)
  (ψ = s_learned, the "fake" score), w = 1/(mean|x − r| + 1e-6) per example, g = (q − r)·w,
  L = ½·mean(x − sg(x − g))², so ∂L/∂x ∝ g (DMD Eq. 7–8; the ½·MSE form and the weight are DMD2's
  reference code, arXiv 2405.14867);
- L_reg (R): K fixed pairs (z_k, y_k = teacher deterministic ODE solve from z_k), L = ‖f_θ(z_k) − y_k‖²
  (mean; DMD's regression loss, L2 instead of LPIPS on 64-d digits);
- L_denoise (R): ψ trained on sg f_θ(z) with the teacher's own loss, the DDPM ε-loss
  (latentzoo-diffusion's ``DDPMEpsilonLoss``); one ψ update per θ update.
"""

from __future__ import annotations

import copy

import attrs
import torch
from latentzoo.config import option
from latentzoo.ema import EMA
from latentzoo.errors import UserError
from latentzoo_diffusion.losses import DDPMEpsilonLoss, DDPMLossConfig, noise_sample
from latentzoo_diffusion.samplers import ddim_step
from latentzoo_diffusion.schedules import alphas_cumprod, make_betas, respaced_timesteps
from torch import nn

__all__ = [
    "reconstruction_loss", "idempotence_loss", "clamp_tightness", "tightness_loss",
    "teacher_x0", "teacher_step", "flow_loss", "dmd_loss", "regression_pairs",
    "IGNConfig", "SIGNConfig", "IGNObjective", "SIGNObjective",
]


# ---------------------------------------------------------------------------------------------
# IGN terms (Shocher et al. 2023, Sec. 2)
# ---------------------------------------------------------------------------------------------


def reconstruction_loss(f: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """L_rec = ‖f(x) − x‖₁ on data (mean over elements)."""
    return (f(x) - x).abs().mean()


def idempotence_loss(f_frozen: nn.Module, fz: torch.Tensor) -> torch.Tensor:
    """L_idem = ‖f_θ′(f_θ(z)) − f_θ(z)‖₁; ``fz = f_θ(z)`` carries the gradient, f_θ′ is frozen."""
    return (f_frozen(fz) - fz).abs().mean()


def clamp_tightness(raw: torch.Tensor, rec: torch.Tensor, a: float = 1.5) -> torch.Tensor:
    """IGN's clamp of the tightness term: tanh(L̃_tight/(a·L_rec))·a·L_rec (L_rec detached)."""
    rec = rec.detach()
    return torch.tanh(raw / (a * rec)) * a * rec


def tightness_loss(f: nn.Module, f_frozen: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Raw L̃_tight = −‖f_θ(sg f_θ′(z)) − sg f_θ′(z)‖₁: the gradient reaches θ only via the outer f."""
    with torch.no_grad():
        fz = f_frozen(z)
    return -(f(fz) - fz).abs().mean()


# ---------------------------------------------------------------------------------------------
# Teacher (DDPM chain) and SIGN's score-based terms (R)
# ---------------------------------------------------------------------------------------------


def _per_example(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return values.reshape(-1, *([1] * (like.dim() - 1))).to(like.dtype)


def teacher_x0(teacher: nn.Module, x_t: torch.Tensor, t: torch.Tensor, alpha_bar: torch.Tensor,
               clip: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(x̂_0, ε̂) of an ε-network: x̂_0 = (x_t − √(1 − ᾱ_t)·ε̂)/√ᾱ_t (DDPM Eq. 15), clipped if clip > 0."""
    eps = teacher(x_t, t.float())
    a = _per_example(alpha_bar[t], x_t)
    x0 = (x_t - (1 - a).sqrt() * eps) / a.sqrt()
    return (x0.clamp(-clip, clip) if clip > 0 else x0), eps


def teacher_step(teacher: nn.Module, x_t: torch.Tensor, t: torch.Tensor, s: torch.Tensor,
                 alpha_bar: torch.Tensor, clip: float = 0.0) -> torch.Tensor:
    """One deterministic PF-ODE (DDIM, η = 0) step from t to s; s < 0 is the clean end (ᾱ = 1)."""
    eps = teacher(x_t, t.float())
    one = torch.ones_like(alpha_bar[:1])
    a_s = torch.where(s >= 0, alpha_bar[s.clamp(min=0)], one)
    return ddim_step(x_t, eps, _per_example(alpha_bar[t], x_t).double(), _per_example(a_s, x_t).double(),
                     eta=0.0, clip=clip or None)


def flow_loss(f: nn.Module, f_target: nn.Module, teacher: nn.Module, x0: torch.Tensor,
              noise: torch.Tensor, t: torch.Tensor, s: torch.Tensor, alpha_bar: torch.Tensor,
              clip: float = 0.0) -> torch.Tensor:
    """L_flow (R) = ‖f_θ(x_t) − sg f_θ⁻(x̂_s)‖² with x̂_s one teacher ODE step from x_t."""
    x_t = noise_sample(x0, noise, alpha_bar[t])
    with torch.no_grad():
        target = f_target(teacher_step(teacher, x_t, t, s, alpha_bar, clip))
    return ((f(x_t) - target) ** 2).mean()


def dmd_loss(x: torch.Tensor, teacher: nn.Module, fake: nn.Module, noise: torch.Tensor,
             t: torch.Tensor, alpha_bar: torch.Tensor, clip: float = 0.0,
             eps: float = 1e-6) -> torch.Tensor:
    """L_dmd (R) = ½·mean(x − sg(x − g))², g = (D_ψ − D_φ)(x_t, t)/(mean|x − D_φ| + eps)."""
    with torch.no_grad():
        x_t = noise_sample(x, noise, alpha_bar[t])
        real, _ = teacher_x0(teacher, x_t, t, alpha_bar, clip)
        fake_x0, _ = teacher_x0(fake, x_t, t, alpha_bar, clip)
        weight = 1.0 / ((x - real).abs().flatten(1).mean(1) + eps)
        grad = (fake_x0 - real) * _per_example(weight, x)
    return 0.5 * ((x - (x - grad).detach()) ** 2).mean()


@torch.no_grad()
def regression_pairs(teacher: nn.Module, num: int, shape: tuple[int, ...], alpha_bar: torch.Tensor,
                     steps: int, seed: int, clip: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """K fixed (z, y) pairs: z ~ N(0, I) from ``seed``, y the teacher's ``steps``-step DDIM (η = 0) solve."""
    device = next(teacher.parameters()).device
    z = torch.randn(num, *shape, generator=torch.Generator().manual_seed(seed)).to(device)
    order = respaced_timesteps(len(alpha_bar), steps).flip(0)
    was_training = teacher.training
    teacher.eval()
    x = z.clone()
    for i, t in enumerate(order):
        a_prev = alpha_bar[order[i + 1]] if i + 1 < len(order) else torch.tensor(1.0, dtype=torch.float64)
        eps = teacher(x, torch.full((num,), float(t), device=device))
        x = ddim_step(x, eps, alpha_bar[t].double(), a_prev.double(), eta=0.0, clip=clip or None)
    teacher.train(was_training)
    return z, x


# ---------------------------------------------------------------------------------------------
# Objectives
# ---------------------------------------------------------------------------------------------


@attrs.define(frozen=True, slots=False)
class _IdempotentBase:
    rec_weight: float = option(20.0, "λ_rec (IGN: 20)", ge=0)
    idem_weight: float = option(20.0, "λ_idem (IGN: 20)", ge=0)
    key: str = option("x", "batch key of the data")


class _FrozenCopy:
    """θ′: a copy of f re-synced to θ at every step, outside the module tree (never checkpointed)."""

    def __init__(self):
        self.module: nn.Module | None = None

    @torch.no_grad()
    def sync(self, model: nn.Module) -> nn.Module:
        if self.module is None:
            self.module = copy.deepcopy(model).requires_grad_(False)
        for mine, theirs in zip(self.module.parameters(), model.parameters(), strict=True):
            mine.copy_(theirs.detach())
        for mine, theirs in zip(self.module.buffers(), model.buffers(), strict=True):
            mine.copy_(theirs)
        self.module.train(model.training)
        return self.module


@attrs.frozen
class IGNConfig(_IdempotentBase):
    tight_weight: float = option(2.5, "λ_tight (IGN: 2.5)", ge=0)
    tight_clamp: float = option(1.5, "a of the tightness clamp tanh(L̃/(a·L_rec))·a·L_rec", gt=0)


class IGNObjective(nn.Module):
    """IGN: λ_rec·L_rec + λ_idem·L_idem + λ_tight·clamp(L̃_tight) (the adversarial baseline)."""

    def __init__(self, config: IGNConfig, ctx=None):
        super().__init__()
        self.config = config
        self.frozen = _FrozenCopy()

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        c = self.config
        x = batch[c.key].float()
        z = torch.randn_like(x)
        frozen = self.frozen.sync(model)
        rec = reconstruction_loss(model, x)
        idem = idempotence_loss(frozen, model(z))
        tight = clamp_tightness(tightness_loss(model, frozen, z), rec, c.tight_clamp)
        loss = c.rec_weight * rec + c.idem_weight * idem + c.tight_weight * tight
        return {"loss": loss, "rec": rec.detach(), "idem": idem.detach(), "tight": tight.detach()}


@attrs.frozen
class SIGNConfig(_IdempotentBase):
    flow_weight: float = option(1.0, "λ_flow (R; the paper's value is not known)", ge=0)
    dmd_weight: float = option(1.0, "λ_dmd (R)", ge=0)
    reg_weight: float = option(0.25, "λ_reg (R)", ge=0)
    timesteps: int = option(1000, "length T of the teacher's DDPM chain", gt=1)
    schedule: str = option("linear", "the teacher's β schedule", choices=("linear", "cosine"))
    flow_gap: float = option(1 / 18, "teacher ODE step of L_flow, Δ = round(gap·T) ≥ 1 timesteps", gt=0, le=1)
    flow_t_min: float = option(0.02, "L_flow draws t ≥ t_min·T", ge=0, lt=1)
    flow_ema: float = option(0.999, "EMA decay of the L_flow target network θ⁻", ge=0, lt=1)
    dmd_t_range: tuple[float, float] = option((0.02, 0.98), "L_dmd draws t in this fraction of the chain",
                                              ge=0, le=1)
    reg_pairs: int = option(1000, "K: fixed (noise, teacher ODE sample) pairs of L_reg", gt=0)
    reg_steps: int = option(50, "DDIM steps of the teacher solve for the L_reg pairs", gt=0)
    clip: float = option(1.0, "clip the teacher's x̂_0 to [-clip, clip] (0: off)", ge=0)
    teacher: str = option("teacher", "artifact key of the frozen diffusion teacher")

    def __attrs_post_init__(self):
        low, high = self.dmd_t_range
        if not low < high:
            raise ValueError(f"dmd_t_range must be (low, high) with low < high, found {self.dmd_t_range}")
        if self.reg_steps > self.timesteps:
            raise ValueError(f"reg_steps = {self.reg_steps} exceeds timesteps = {self.timesteps}")


class SIGNObjective(nn.Module):
    """Our stand-in for SIGN's Eq. 9 (R): λ_rec·L_rec + λ_idem·L_idem + λ_flow·L_flow
    + λ_dmd·L_dmd + λ_reg·L_reg + L_denoise (the last trains only ψ).

    Holds the frozen teacher ε_φ (a copy of ``ctx.artifacts[teacher]``), the fake score ψ (a
    trainable copy of the teacher, present when λ_dmd > 0), the EMA target θ⁻ of L_flow (built
    from f at the first step, updated in ``after_step``) and the L_reg pairs.
    """

    def __init__(self, config: SIGNConfig, ctx=None):
        super().__init__()
        self.config = config
        artifacts = getattr(ctx, "artifacts", None) or {}
        if config.teacher not in artifacts:
            raise UserError(f"sign.objective distils a diffusion teacher: give the stage inputs = "
                            f"{{ {config.teacher} = \"<teacher stage>\" }}")
        self.teacher = copy.deepcopy(artifacts[config.teacher]).eval().requires_grad_(False)
        self.register_buffer("alpha_bar", alphas_cumprod(make_betas(config.schedule, config.timesteps)).float(),
                             persistent=False)
        self.gap = max(1, round(config.flow_gap * config.timesteps))
        self.flow_t_min = round(config.flow_t_min * config.timesteps)
        low, high = config.dmd_t_range
        self.dmd_t = (round(low * (config.timesteps - 1)), max(round(high * (config.timesteps - 1)),
                                                                round(low * (config.timesteps - 1)) + 1))
        self.fake = None
        if config.dmd_weight > 0:
            self.fake = copy.deepcopy(artifacts[config.teacher]).train().requires_grad_(True)
            self.denoise = DDPMEpsilonLoss(DDPMLossConfig(timesteps=config.timesteps, schedule=config.schedule), None)
        if config.reg_weight > 0:
            shape = tuple(ctx.data.input_shape) if ctx is not None and ctx.data is not None else None
            if shape is None:
                raise UserError("sign.objective: L_reg needs the data's input shape")
            z, y = regression_pairs(self.teacher, config.reg_pairs, shape, self.alpha_bar.double(),
                                    config.reg_steps, getattr(ctx, "seed", 0), config.clip)
            self.register_buffer("reg_z", z, persistent=False)
            self.register_buffer("reg_y", y.float(), persistent=False)
        self.frozen = _FrozenCopy()
        self.target: EMA | None = None
        self._pending_target: dict | None = None

    def train(self, mode: bool = True):
        """The training loop calls train() on model and loss together: the teacher stays in eval."""
        super().train(mode)
        self.teacher.eval()
        return self

    # -- θ⁻, the EMA target of L_flow (built lazily: the model is not known at construction) -----
    def target_of(self, model: nn.Module) -> EMA:
        if self.target is None:
            self.target = EMA(model, self.config.flow_ema)
            if self._pending_target is not None:
                self.target.load_state_dict(self._pending_target)
                self._pending_target = None
        return self.target

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        if self.target is None:
            keys = [k for k in state_dict if k.startswith(prefix + "target.")]
            if keys:
                self._pending_target = {k[len(prefix + "target."):]: state_dict.pop(k) for k in keys}
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def after_step(self, model: nn.Module, step: int) -> None:
        if self.config.flow_weight > 0:
            self.target_of(model).update(model)

    # -- the objective ----------------------------------------------------------------------------
    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        c = self.config
        x = batch[c.key].float()
        n, device, T = len(x), x.device, c.timesteps
        z = torch.randn_like(x)
        fz = model(z)
        logs = {}
        loss = torch.zeros((), device=device)
        if c.rec_weight > 0:
            logs["rec"] = reconstruction_loss(model, x)
            loss = loss + c.rec_weight * logs["rec"]
        if c.idem_weight > 0:
            logs["idem"] = idempotence_loss(self.frozen.sync(model), fz)
            loss = loss + c.idem_weight * logs["idem"]
        if c.flow_weight > 0:
            t = torch.randint(max(self.flow_t_min, 1), T, (n,), device=device)
            logs["flow"] = flow_loss(model, self.target_of(model), self.teacher, x, torch.randn_like(x),
                                     t, t - self.gap, self.alpha_bar, c.clip)
            loss = loss + c.flow_weight * logs["flow"]
        if c.dmd_weight > 0:
            t = torch.randint(self.dmd_t[0], self.dmd_t[1] + 1, (n,), device=device)
            logs["dmd"] = dmd_loss(fz, self.teacher, self.fake, torch.randn_like(x), t, self.alpha_bar, c.clip)
            logs["denoise"] = self.denoise(self.fake, {"x": fz.detach()})["loss"]
            loss = loss + c.dmd_weight * logs["dmd"] + logs["denoise"]
        if c.reg_weight > 0:
            index = torch.randint(0, len(self.reg_z), (n,), device=self.reg_z.device)
            logs["reg"] = ((model(self.reg_z[index]) - self.reg_y[index]) ** 2).mean()
            loss = loss + c.reg_weight * logs["reg"]
        return {"loss": loss, **{k: v.detach() for k, v in logs.items()}}
