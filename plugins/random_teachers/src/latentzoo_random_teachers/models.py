"""Teacher/student network of "Random Teachers are Good Teachers" (Sarnthein et al., arXiv 2302.12091).

Both networks are ``f = g ∘ h``: an encoder ``h`` (BatchNorm MLP or 1-D CNN; its output is the
embedding that probes read, ``embed(x)``) and the DINO projection head ``g`` of the official code
(``dinopl/core.py:DINOHead`` with the L2 bottleneck ``-/lb/fn/wn/l/-``):

    g(z) = W₂ · normalize(W_b · GELU(W₂' · GELU(W₁ z + b₁) + b₂') + b_b)          (head)

with ``W₂`` row-normalised (``head_wn=True``, the intended weight normalisation) or raw
(``head_wn=False``, what the official ``Linear.forward`` actually computes). Head linears are
initialised trunc-normal(std 0.02), bias 0 (DINO); the encoder keeps PyTorch's default init.

Every parameter is drawn from the seed given to :func:`build_network` (inside ``fork_rng``):
the same seed gives the same teacher on every process and in every arm of a sweep.

Student initialisation (``configuration.py:init_student_teacher`` of the official code):

- ``teacher``:       θ_S = θ_T (exact copy; the repo default)
- ``interpolated``:  θ_S = ((1 − α) θ_T + α θ̃) / √(2α² − 2α + 1)          (var_preserving)
- ``neighborhood``:  θ_S = (θ_T + ε θ̃) / √(1 + ε²)                         (var_preserving)
- ``random``:        θ_S = θ̃ (independent init)

θ̃ is a fresh network of the same architecture drawn from ``s_init_seed``. The division applies to
every parameter tensor (BatchNorm weights included) but not to buffers (running statistics are
the teacher's).
"""

from __future__ import annotations

import copy
import math

import attrs
import torch
import torch.nn.functional as F
from latentzoo.config import option
from latentzoo.errors import UserError
from torch import nn

__all__ = ["DinoNet", "DinoHead", "MLPEncoder", "ConvEncoder", "NetConfig", "StudentConfig",
           "build_network", "dino_net", "student", "init_student"]


# ---------------------------------------------------------------------------------------------
# Encoders (BatchNorm: the teacher/student train/eval asymmetry of the paper lives here)
# ---------------------------------------------------------------------------------------------


class MLPEncoder(nn.Module):
    """``[Linear, BatchNorm1d, ReLU] × len(hidden)``; the embedding is the last hidden layer."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], batchnorm: bool = True):
        super().__init__()
        layers: list[nn.Module] = []
        for width in hidden:
            layers += [nn.Linear(in_dim, width), nn.BatchNorm1d(width) if batchnorm else nn.Identity(),
                       nn.ReLU()]
            in_dim = width
        self.net = nn.Sequential(*layers)
        self.embed_dim = in_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))


class ConvEncoder(nn.Module):
    """``[Conv1d k5, BatchNorm1d, ReLU] × len(channels)``, then global average pool and a linear
    map to ``embed_dim`` (the spec's 1-D CNN for mnist1d)."""

    def __init__(self, in_channels: int, channels: tuple[int, ...], embed_dim: int,
                 batchnorm: bool = True):
        super().__init__()
        layers: list[nn.Module] = []
        for width in channels:
            layers += [nn.Conv1d(in_channels, width, 5, padding=2),
                       nn.BatchNorm1d(width) if batchnorm else nn.Identity(), nn.ReLU()]
            in_channels = width
        self.net = nn.Sequential(*layers)
        self.proj = nn.Linear(in_channels, embed_dim)
        self.embed_dim = embed_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:  # (batch, length) -> (batch, 1, length)
            x = x.unsqueeze(1)
        return self.proj(self.net(x).mean(-1))


# ---------------------------------------------------------------------------------------------
# DINO head with L2 bottleneck
# ---------------------------------------------------------------------------------------------


class DinoHead(nn.Module):
    """MLP (GELU, no BN) → Linear to the bottleneck → L2-normalise → Linear (bias-free) to ``out_dim``.

    ``head_wn=True`` divides each row of the last weight by its norm (DINO's weight norm with
    g ≡ 1), so every output is a cosine; ``False`` uses the raw weight (official-code behaviour).
    """

    def __init__(self, in_dim: int, hidden: tuple[int, ...], bottleneck: int, out_dim: int,
                 head_wn: bool = True):
        super().__init__()
        layers: list[nn.Module] = []
        for width in hidden:
            layers += [nn.Linear(in_dim, width), nn.GELU()]
            in_dim = width
        self.mlp = nn.Sequential(*layers)
        self.bottleneck = nn.Linear(in_dim, bottleneck)
        self.last = nn.Linear(bottleneck, out_dim, bias=False)
        self.head_wn = head_wn
        for module in self.modules():  # DINO: trunc_normal_(std=.02), bias 0
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def bottleneck_features(self, z: torch.Tensor) -> torch.Tensor:
        """The unit vector fed to the last layer: normalize(W_b · mlp(z) + b_b)."""
        return F.normalize(self.bottleneck(self.mlp(z)), dim=-1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        weight = F.normalize(self.last.weight, dim=1) if self.head_wn else self.last.weight
        return F.linear(self.bottleneck_features(z), weight)


class DinoNet(nn.Module):
    """Encoder + DINO head. ``forward`` gives the projections g(h(x)); ``embed`` gives h(x)."""

    def __init__(self, encoder: nn.Module, head: DinoHead, arch: dict):
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.arch = dict(arch)  # how to draw a fresh network of the same architecture

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


# ---------------------------------------------------------------------------------------------
# Components
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class NetConfig:
    encoder: str = option("mlp", "encoder: BatchNorm MLP or 1-D CNN (3×[conv k5, BN, ReLU] + pool)",
                          choices=("mlp", "cnn"))
    hidden: tuple[int, ...] = option((256, 256), "MLP encoder widths; the last is the embedding", gt=0)
    channels: tuple[int, ...] = option((32, 32, 32), "CNN encoder channels", gt=0)
    embed_dim: int = option(128, "CNN encoder: embedding size after the pool", gt=0)
    batchnorm: bool = option(True, "BatchNorm in the encoder (the paper's asymmetry; off only for tests)")
    head_hidden: tuple[int, ...] = option((512, 512), "head MLP widths (paper: 2048, 2048)", gt=0)
    bottleneck: int = option(64, "L2 bottleneck size (paper: 256)", gt=0)
    out_dim: int = option(4096, "head outputs K (paper: 65536)", gt=0)
    head_wn: bool = option(True, "row-normalise the last head layer (intended; False = official code)")
    init_seed: int = option(-1, "seed of the weights (-1: the stage's seed)", ge=-1)


def build_network(arch: dict, input_shape: tuple[int, ...], seed: int) -> DinoNet:
    """A network drawn from ``seed`` alone (the global RNG is left untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        in_features = math.prod(input_shape)
        if arch["encoder"] == "mlp":
            encoder = MLPEncoder(in_features, tuple(arch["hidden"]), arch["batchnorm"])
        else:
            in_channels = input_shape[0] if len(input_shape) == 2 else 1
            encoder = ConvEncoder(in_channels, tuple(arch["channels"]), arch["embed_dim"],
                                  arch["batchnorm"])
        head = DinoHead(encoder.embed_dim, tuple(arch["head_hidden"]), arch["bottleneck"],
                        arch["out_dim"], arch["head_wn"])
    return DinoNet(encoder, head, arch | {"input_shape": tuple(input_shape)})


def dino_net(config: NetConfig, ctx) -> DinoNet:
    """``random_teachers.dino_net``: the random network (the teacher)."""
    if ctx.data is None:
        raise UserError("random_teachers.dino_net needs the stage's data to know the input shape")
    shape = tuple(ctx.data.input_shape)
    if config.encoder == "cnn" and len(shape) not in (1, 2):
        raise UserError(f"encoder 'cnn' takes 1-D signals (length,) or (channels, length), "
                        f"found input shape {shape}")
    arch = attrs.asdict(config)
    arch.pop("init_seed")
    return build_network(arch, shape, ctx.seed if config.init_seed < 0 else config.init_seed)


@attrs.frozen
class StudentConfig:
    teacher: str = option("teacher", "key of the teacher in the stage's inputs (ctx.artifacts)")
    s_init: str = option("teacher", "student initialisation (official s_init)",
                         choices=("teacher", "interpolated", "neighborhood", "random"))
    alpha: float = option(0.0, "interpolation α: θ_S ∝ (1 − α)θ_T + αθ̃", ge=0, le=1)
    eps: float = option(0.0, "neighbourhood ε: θ_S ∝ θ_T + εθ̃", ge=0)
    var_preserving: bool = option(True, "divide by √(2α²−2α+1) resp. √(1+ε²) (paper's sweeps)")
    s_init_seed: int = option(-1, "seed of θ̃ (-1: the stage's seed + 7919)", ge=-1)


@torch.no_grad()
def init_student(teacher: DinoNet, fresh: DinoNet, s_init: str, alpha: float = 0.0,
                 eps: float = 0.0, var_preserving: bool = True) -> DinoNet:
    """θ_S from θ_T and a fresh draw θ̃ (module docstring); buffers are copied from the teacher."""
    if s_init == "random":
        return copy.deepcopy(fresh)
    student = copy.deepcopy(teacher)
    if s_init == "teacher":
        return student
    if s_init == "interpolated":
        a, b, norm = 1.0 - alpha, alpha, math.sqrt(2 * alpha**2 - 2 * alpha + 1)
    elif s_init == "neighborhood":
        a, b, norm = 1.0, eps, math.sqrt(1 + eps**2)
    else:
        raise ValueError(f"unknown s_init '{s_init}'")
    if not var_preserving:
        norm = 1.0
    for p_s, p_t, p_r in zip(student.parameters(), teacher.parameters(), fresh.parameters(), strict=True):
        p_s.copy_((a * p_t + b * p_r) / norm)
    return student


def student(config: StudentConfig, ctx) -> DinoNet:
    """``random_teachers.student``: the student, initialised from the teacher artifact."""
    teacher = ctx.artifacts.get(config.teacher)
    if teacher is None:
        raise UserError(f"random_teachers.student needs the teacher as an input: set "
                        f"inputs = {{ {config.teacher} = \"<random_init stage>\" }} "
                        f"(inputs given: {', '.join(ctx.artifacts) or 'none'})")
    if not isinstance(teacher, DinoNet):
        raise UserError(f"random_teachers.student: input '{config.teacher}' is a "
                        f"{type(teacher).__name__}, not a random_teachers.dino_net")
    if ctx.data is not None and tuple(ctx.data.input_shape) != tuple(teacher.arch["input_shape"]):
        raise UserError(f"random_teachers.student: the data's input shape {tuple(ctx.data.input_shape)} "
                        f"differs from the teacher's {teacher.arch['input_shape']}")
    teacher = teacher.cpu()
    arch = {k: v for k, v in teacher.arch.items() if k != "input_shape"}
    seed = ctx.seed + 7919 if config.s_init_seed < 0 else config.s_init_seed
    fresh = build_network(arch, teacher.arch["input_shape"], seed)
    result = init_student(teacher, fresh, config.s_init, config.alpha, config.eps,
                          config.var_preserving)
    return result.requires_grad_(True).train()
