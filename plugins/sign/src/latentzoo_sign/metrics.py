"""Metrics of an idempotent generator.

- ``sign.idempotence``: E‖f(f(z)) − f(z)‖₂ over z ~ N(0, I) (IGN's idempotence condition f(f(z)) = f(z),
  Shocher et al. 2023, measured), and E‖f(x) − x‖₂ over held-out data (data as fixed points), each
  also relative to the data scale √(E‖x − x̄‖²) of the held-out split.
- ``sign.projection``: zero-shot projection of corrupted held-out data (SIGN's editing use of f,
  as IGN projects corrupted images): x_c = x + σ·ε (``noise``) or x with a random fraction of its values
  set to 0 (``mask``); reports mean (x_c − x)² and mean (f(x_c) − x)² (our protocol; the paper's
  editing protocol is not known).
- ``sign.class_entropy``: entropy H = −Σ_k p_k·ln p_k of the predicted-class histogram of
  generated digits, under the core's fixed digit classifier (the one ``builtin.digits_frechet``
  takes its features from); ln 10 ≈ 2.303 means all ten classes equally often (mode coverage).
"""

from __future__ import annotations

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError

__all__ = ["IdempotenceConfig", "idempotence", "ProjectionConfig", "projection", "corrupt", "ClassEntropyConfig", "class_entropy", "histogram_entropy"]


@attrs.frozen
class IdempotenceConfig:
    num_samples: int = option(1000, "noise draws z", gt=0)
    seed: int = option(0, "seed of the noise draws")
    prefix: str = option("", "prefix of the reported names")


def idempotence(config: IdempotenceConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        model = evaluator.model
        if model is None:
            raise UserError("sign.idempotence needs the stage's model f (a generate or evaluate stage)")
        real = evaluator.tensors()["x"].float()
        device = next(model.parameters()).device
        z = torch.randn(config.num_samples, *real.shape[1:],
                        generator=torch.Generator().manual_seed(config.seed)).to(device)
        was_training = model.training
        model.eval()
        with torch.no_grad():
            fz = model(z)
            idem = (model(fz) - fz).flatten(1).norm(dim=1).mean().item()
            fixed = (model(real.to(device)) - real.to(device)).flatten(1).norm(dim=1).mean().item()
        model.train(was_training)
        scale = (real - real.mean(0)).flatten(1).pow(2).sum(1).mean().sqrt().item()
        p = config.prefix
        return {p + "idem_error": idem, p + "idem_error_relative": idem / scale,
                p + "fixed_point_error_relative": fixed / scale}

    return metric


def corrupt(x: torch.Tensor, kind: str, strength: float, generator: torch.Generator) -> torch.Tensor:
    """x + strength·ε (``noise``) or x with each value zeroed with probability strength (``mask``)."""
    if kind == "noise":
        return x + strength * torch.randn(x.shape, generator=generator)
    keep = torch.rand(x.shape, generator=generator) >= strength
    return x * keep


@attrs.frozen
class ProjectionConfig:
    corruption: str = option("noise", "how held-out data are corrupted", choices=("noise", "mask"))
    strength: float = option(0.3, "noise std, or the fraction of values masked to 0", gt=0)
    seed: int = option(0, "seed of the corruption")
    prefix: str = option("", "prefix of the reported names")


def projection(config: ProjectionConfig, ctx):
    if config.corruption == "mask" and config.strength > 1:
        raise UserError(f"sign.projection: a mask fraction must be in (0, 1], found {config.strength}")

    def metric(evaluator) -> dict[str, float]:
        model = evaluator.model
        if model is None:
            raise UserError("sign.projection needs the stage's model f (a generate or evaluate stage)")
        real = evaluator.tensors()["x"].float()
        corrupted = corrupt(real, config.corruption, config.strength,
                            torch.Generator().manual_seed(config.seed))
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        with torch.no_grad():
            projected = model(corrupted.to(device)).cpu()
        model.train(was_training)
        p = config.prefix
        return {p + "corrupted_mse": float(((corrupted - real) ** 2).mean()),
                p + "projected_mse": float(((projected - real) ** 2).mean())}

    return metric


def histogram_entropy(labels: torch.Tensor, num_classes: int) -> float:
    """−Σ p_k ln p_k of the label histogram (0·ln 0 = 0)."""
    p = torch.bincount(labels, minlength=num_classes).double() / len(labels)
    p = p[p > 0]
    return float(-(p * p.log()).sum())


@attrs.frozen
class ClassEntropyConfig:
    prefix: str = option("", "prefix of the reported names")


def class_entropy(config: ClassEntropyConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        from latentzoo.builtin.frechet import feature_net

        samples = evaluator.samples
        if samples is None or samples[0].numel() != 64:
            raise UserError("sign.class_entropy scores generated 8x8 digits: use it in a generate stage "
                            "whose samples have 64 values")
        with torch.no_grad():
            labels = feature_net()(samples.reshape(len(samples), 64).float().cpu()).argmax(1)
        entropy = histogram_entropy(labels, 10)
        return {config.prefix + "class_entropy": entropy}

    return metric
