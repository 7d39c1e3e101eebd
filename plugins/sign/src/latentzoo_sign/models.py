"""The idempotent network f: X → X of SIGN, without a time input.

SIGN (Zaman, Liu, Chiu 2025, arXiv 2509.21470) distils a diffusion teacher into an Idempotent
Generative Network (IGN, Shocher et al. 2023, arXiv 2311.01462): one map f that sends noise
to data, keeps data fixed (f(x) = x) and is idempotent (f(f(z)) = f(z)). Unlike the teacher,
f has no time input: it must read the noise level from x itself.

Reported for the paper's §3/App. C (not checked against its text): f uses the teacher's
architecture and starts from the teacher's weights. Here the teacher is latentzoo-diffusion's
ε-prediction denoiser ε_φ(x_t, t) on a DDPM chain (x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε), and

    f(x) = (x − c·g(x, t_c)) / a

with g a :class:`latentzoo_diffusion.models.ResidualDenoiser` called at one constant t_c
(so f is a function of x only):

- ``init = "teacher"``: g starts as a copy of ε_φ, t_c = ``init_t``·(T − 1) rounded, a = √ᾱ_{t_c},
  c = √(1 − ᾱ_{t_c}); f then starts as the teacher's one-step x̂_0 prediction at level t_c
  (DDPM Eq. 15). The paper does not state the t it uses (our choice, marked in the README).
- ``init = "scratch"``: g freshly initialised with the teacher's width and depth, t_c = 0,
  a = c = 1: the residual form f(x) = x − g(x) of the spec.
"""

from __future__ import annotations

import copy
import math

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError
from latentzoo_diffusion.models import ResidualDenoiser
from latentzoo_diffusion.schedules import alphas_cumprod, make_betas
from torch import nn

__all__ = ["IdempotentNet", "IdempotentConfig", "idempotent"]


class IdempotentNet(nn.Module):
    """f(x) = (x − c·g(x, t_c))/a: a denoiser frozen at one noise level, called with x only.

    Args:
        net: the backbone g(x, t), e.g. a copy of the teacher's ε-network.
        t_c: the constant time input.
        a, c: output scaling (a = √ᾱ_{t_c}, c = √(1 − ᾱ_{t_c}) for a teacher copy; 1, 1 from scratch).
    """

    def __init__(self, net: nn.Module, t_c: float = 0.0, a: float = 1.0, c: float = 1.0):
        super().__init__()
        if a <= 0:
            raise ValueError(f"the output scale a must be > 0, found {a}")
        self.net = net
        self.t_c, self.a, self.c = float(t_c), float(a), float(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = torch.full((len(x),), self.t_c, device=x.device)
        return (x - self.c * self.net(x, t)) / self.a

    def extra_repr(self) -> str:
        return f"t_c={self.t_c:g}, a={self.a:.4g}, c={self.c:.4g}"


@attrs.frozen
class IdempotentConfig:
    init: str = option("teacher", "start from the teacher's weights (paper, §3/App. C) or from scratch",
                       choices=("teacher", "scratch"))
    init_t: float = option(0.25, "teacher init: constant time input t_c as a fraction of the chain "
                           "(not stated in the paper; ours)", ge=0, lt=1)
    timesteps: int = option(1000, "length T of the teacher's chain", gt=1)
    schedule: str = option("linear", "the teacher's β schedule", choices=("linear", "cosine"))
    teacher: str = option("teacher", "artifact key of the stage-1 diffusion teacher")


def idempotent(config: IdempotentConfig, ctx) -> IdempotentNet:
    artifacts = getattr(ctx, "artifacts", None) or {}
    teacher = artifacts.get(config.teacher)
    if teacher is None:
        raise UserError(f"sign.idempotent copies the architecture of the diffusion teacher: give the "
                        f"stage inputs = {{ {config.teacher} = \"<teacher stage>\" }}")
    if not isinstance(teacher, ResidualDenoiser):
        raise UserError(f"sign.idempotent needs a diffusion.mlp_denoiser teacher, found "
                        f"{type(teacher).__name__}")
    if config.init == "scratch":
        blocks = teacher.blocks
        net = ResidualDenoiser(teacher.in_dim, teacher.stem.out_features, len(blocks),
                               blocks[0].mlp[0].out_features // teacher.stem.out_features,
                               teacher.time.mlp[0].out_features)
        return IdempotentNet(net)
    t_c = round(config.init_t * (config.timesteps - 1))
    alpha_bar = float(alphas_cumprod(make_betas(config.schedule, config.timesteps))[t_c])
    net = copy.deepcopy(teacher).train().requires_grad_(True)
    return IdempotentNet(net, t_c, math.sqrt(alpha_bar), math.sqrt(1 - alpha_bar))
