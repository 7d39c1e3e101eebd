"""Metrics of an idempotent generator.

- ``sign.idempotence``: E‖f(f(z)) − f(z)‖₂ over z ~ N(0, I) (IGN's idempotence condition f(f(z)) = f(z),
  Shocher et al. 2023, measured), and E‖f(x) − x‖₂ over held-out data (data as fixed points), each
  also relative to the data scale √(E‖x − x̄‖²) of the held-out split.
- ``sign.projection``: zero-shot projection of corrupted held-out data (SIGN's editing use of f,
  as IGN projects corrupted images): x_c = x + σ·ε (``noise``) or x with a random fraction of its values
  set to 0 (``mask``); reports mean (x_c − x)² and mean (f(x_c) − x)² (our protocol; the paper's
  editing protocol is not known).
- ``sign.projection_map``: a figure of that projection on a few fixed held-out digits, one column
  each: the clean x, the noised x + σ·ε, f(noised), the masked x, f(masked) and f(f(masked))
  (idempotence), all on the data's range, each image's mean squared error to x under it and the
  split-wide means (the numbers ``sign.projection`` reports) in the row labels. The corruptions
  are ``sign.projection``'s: :func:`corrupt` over the whole split with the same seeds.
- ``sign.class_entropy``: entropy H = −Σ_k p_k·ln p_k of the predicted-class histogram of
  generated digits, under the core's fixed digit classifier (the one ``builtin.digits_frechet``
  takes its features from); ln 10 ≈ 2.303 means all ten classes equally often (mode coverage).
"""

from __future__ import annotations

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError

__all__ = ["IdempotenceConfig", "idempotence", "ProjectionConfig", "projection", "corrupt", "ProjectionMapConfig",
           "projection_map", "projection_rows", "ClassEntropyConfig", "class_entropy", "histogram_entropy"]


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


@attrs.frozen
class ProjectionMapConfig:
    num_images: int = option(8, "held-out digits shown (the first ones of the split), one column each", gt=0)
    noise_strength: float = option(0.3, "noise std σ (sign.projection's strength for corruption = noise)", gt=0)
    noise_seed: int = option(0, "seed of the noise (sign.projection's seed: the same draws)")
    mask_strength: float = option(0.25, "fraction of values masked to 0 (sign.projection's strength for "
                                  "corruption = mask)", gt=0, le=1)
    mask_seed: int = option(0, "seed of the mask (sign.projection's seed: the same draws)")
    name: str = option("projection_map", "figure name (figures/<name>.png)")


ROW_NAMES = ("clean x", "noised x + σε", "f(noised)", "masked x", "f(masked)", "f(f(masked))")


def _check_map(model) -> None:
    """A map f(x): a forward with a further input (a diffusion denoiser's time t) is not one, even
    where that input has a default (``diffusion.mlp_denoiser`` would silently run at t = 0)."""
    import inspect

    try:
        signature = inspect.signature(model.forward)
    except (TypeError, ValueError):
        return
    named = [p.name for p in signature.parameters.values()
             if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if len(named) > 1:
        raise UserError(f"sign.projection_map applies the stage's model as an idempotent map f(x) "
                        f"(sign.idempotent); {type(model).__name__} takes further inputs "
                        f"({', '.join(named[1:])}), e.g. a diffusion teacher's time: use a stage whose "
                        "model is a SIGN or IGN student")


def _apply(model, x: torch.Tensor, what: str) -> torch.Tensor:
    """f(x) in eval mode without gradients, as ``sign.projection`` applies it (one batch), on the CPU."""
    parameter = next(iter(model.parameters()), None)
    device = parameter.device if parameter is not None else x.device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(x.to(device))
    except TypeError as error:
        raise UserError(f"sign.projection_map applies the stage's model as an idempotent map f(x) "
                        f"(sign.idempotent); {type(model).__name__} cannot be called on x alone "
                        f"({error}); use a stage whose model is a SIGN or IGN student") from None
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor) or out.shape != x.shape:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise UserError(f"sign.projection_map needs a map f: X -> X (sign.idempotent); "
                        f"{type(model).__name__} maps {what} of shape {tuple(x.shape)} to {shape}")
    return out.cpu()


def projection_rows(model, real: torch.Tensor, config: ProjectionMapConfig) -> list[torch.Tensor]:
    """The six rows over the whole split (x, x_noise, f(x_noise), x_mask, f(x_mask), f(f(x_mask))),
    the corruptions drawn exactly as ``sign.projection`` draws them (:func:`corrupt`, same seeds)."""
    noised = corrupt(real, "noise", config.noise_strength, torch.Generator().manual_seed(config.noise_seed))
    masked = corrupt(real, "mask", config.mask_strength, torch.Generator().manual_seed(config.mask_seed))
    f_noised = _apply(model, noised, "noised data")
    f_masked = _apply(model, masked, "masked data")
    return [real, noised, f_noised, masked, f_masked, _apply(model, f_masked, "f(masked data)")]


def _as_images(x: torch.Tensor) -> torch.Tensor:
    """(n, H, W) for display: flat square vectors reshaped (8x8 digits), channels averaged."""
    if x.dim() == 2:
        side = round(x.shape[1] ** 0.5)
        if side * side == x.shape[1]:
            return x.reshape(len(x), side, side)
    elif x.dim() == 3:
        return x
    elif x.dim() == 4:
        return x.float().mean(1)
    raise UserError(f"sign.projection_map draws images: data of shape {tuple(x.shape[1:])} is neither a "
                    "square number of values (8x8 digits) nor an image")


def _draw_projection_map(rows: list[torch.Tensor], split_mse: list[float], config: ProjectionMapConfig,
                         low: float, high: float):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clean, count = rows[0], len(rows[0])
    labels = [ROW_NAMES[0], f"noised x + σε\n(σ = {config.noise_strength:g})", ROW_NAMES[2],
              f"masked x\n({config.mask_strength:.0%} zeroed)", ROW_NAMES[4], ROW_NAMES[5]]
    figure, axes = plt.subplots(len(rows), count, figsize=(1.05 * count + 1.4, 1.45 * len(rows) + 0.5),
                                squeeze=False, layout="constrained")
    images = [_as_images(row) for row in rows]
    for r, (row, label) in enumerate(zip(rows, labels)):
        if r:
            label += f"\nall: {split_mse[r - 1]:.4f}"
        axes[r, 0].set_ylabel(label, fontsize=8)
        for c in range(count):
            axis = axes[r, c]
            axis.imshow(images[r][c].numpy(), cmap="gray", vmin=low, vmax=high)
            axis.set_xticks([])
            axis.set_yticks([])
            if r:
                axis.set_xlabel(f"{float(((row[c] - clean[c]) ** 2).mean()):.4f}", fontsize=7, labelpad=1)
    for c in range(count):
        axes[0, c].set_title(f"test #{c}", fontsize=8)
    figure.suptitle(f"zero-shot projection by f: grey scale [{low:.3g}, {high:.3g}] (the data's range, "
                    "values outside clipped); under each image its mse to x; "
                    "'all': the mean over the split", fontsize=8)
    return figure


def projection_map(config: ProjectionMapConfig, ctx):
    def metric(evaluator) -> dict:
        model = evaluator.model
        if model is None:
            raise UserError("sign.projection_map needs the stage's model f (a generate or evaluate stage "
                            "whose model is a sign.idempotent student)")
        _check_map(model)
        real = evaluator.tensors()["x"].float()
        rows = projection_rows(model, real, config)     # every process computes (tiny), one draws
        accelerator = getattr(evaluator, "accelerator", None)
        if accelerator is not None and not accelerator.is_main_process:
            return {}
        split_mse = [float(((row - real) ** 2).mean()) for row in rows[1:]]
        shown = [row[: config.num_images] for row in rows]
        return {"figures": {config.name: _draw_projection_map(shown, split_mse, config,
                                                              float(real.min()), float(real.max()))}}

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
