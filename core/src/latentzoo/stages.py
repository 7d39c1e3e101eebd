"""Stages: what an experiment runs, in order, passing artifacts forward.

The core's stage kinds are ``train`` (:mod:`latentzoo.training`), ``evaluate`` and
``generate`` (here); plugins add kinds through ``latentzoo_register_stages``. A stage
procedure is ``procedure(config, ctx: StageContext) -> StageResult``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import attrs
import torch

from latentzoo.build import BuildContext, build
from latentzoo.data import DataSplits
from latentzoo.errors import UserError
from latentzoo.evaluation import Evaluator
from latentzoo.experiment import EvaluateConfig, GenerateConfig


@attrs.define
class StageResult:
    """What a stage leaves to later stages and to ``metrics.json``."""

    name: str
    model: torch.nn.Module | None = None
    metrics: dict[str, float] = attrs.field(factory=dict)
    samples: torch.Tensor | None = None
    reference: torch.Tensor | None = None  # a few real examples the samples are compared with
    extras: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class StageContext:
    """What a stage procedure receives beside its config.

    Attributes:
        index: position of the stage in the experiment (``stages[index]``).
        seed: the stage's seed (experiment seed + index).
        run_dir: the run directory; ``stage_dir`` the stage's own folder inside it.
        results: results of the earlier stages, by stage name.
        cpu: force the CPU even where a GPU is present.
    """

    index: int
    seed: int
    run_dir: Path
    stage_dir: Path
    results: dict[str, StageResult]
    cpu: bool = False
    writer: Any = None
    _accelerator: Any = None

    @property
    def where(self) -> str:
        return f"stages[{self.index}]"

    def accelerator(self, mixed_precision: str = "no"):
        """The stage's ``accelerate.Accelerator`` (one per stage: precision may differ)."""
        if self._accelerator is None:
            from accelerate import Accelerator
            from accelerate.state import AcceleratorState

            if AcceleratorState._shared_state:
                AcceleratorState._reset_state()
            self._accelerator = Accelerator(cpu=self.cpu, mixed_precision=mixed_precision)
        return self._accelerator

    @property
    def is_main_process(self) -> bool:
        return self._accelerator.is_main_process if self._accelerator else _main_process()

    def artifact(self, name: str) -> StageResult:
        if name not in self.results:
            raise UserError(f"{self.where}: artifact '{name}' is not available "
                            f"(earlier stages: {', '.join(self.results) or 'none'})")
        return self.results[name]

    def model_of(self, name: str) -> torch.nn.Module:
        result = self.artifact(name)
        if result.model is None:
            raise UserError(f"{self.where}: stage '{name}' produced no model")
        return result.model

    def build_context(self, data: DataSplits | None, inputs: dict[str, str] | None = None,
                      stage: str = "") -> BuildContext:
        artifacts = {key: self.model_of(ref) for key, ref in (inputs or {}).items()}
        return BuildContext(data=data.info if data is not None else None, splits=data,
                            artifacts=artifacts, seed=self.seed, stage=stage)

    # -- logging ----------------------------------------------------------------------------------
    def log_scalars(self, values: dict[str, float], step: int, prefix: str = "") -> None:
        if self.writer is None:
            return
        for key, value in values.items():
            if isinstance(value, (int, float)) and math.isfinite(float(value)):
                self.writer.add_scalar(f"{prefix}{key}", float(value), step)

    def save_figure(self, name: str, figure, step: int = 0) -> Path | None:
        """Save a matplotlib figure as ``figures/<name>.png`` and log it to TensorBoard."""
        if not self.is_main_process:
            import matplotlib.pyplot as plt

            plt.close(figure)
            return None
        import matplotlib.pyplot as plt

        path = self.stage_dir / "figures" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=110, bbox_inches="tight")
        if self.writer is not None:
            self.writer.add_figure(name, figure, step, close=False)
        plt.close(figure)
        return path


def _main_process() -> bool:
    from accelerate.state import PartialState

    return PartialState().is_main_process


def compute_metrics(metrics, evaluator: Evaluator, ctx: StageContext, step: int = 0,
                    where: str = "metrics") -> dict[str, float]:
    """Call each metric, check for clashing names, save any figures it returns."""
    results: dict[str, float] = {}
    for index, metric in enumerate(metrics):
        values = dict(metric(evaluator))
        figures = values.pop("figures", {}) or {}
        for key, value in values.items():
            if key in results:
                raise UserError(f"{ctx.where}.{where}[{index}]: metric name '{key}' is produced "
                                "twice; give one of the metrics a different 'prefix' or remove it")
            results[key] = float(value)
        for name, figure in figures.items():
            ctx.save_figure(name, figure, step)
    return results


def build_metrics(specs, bctx: BuildContext, ctx: StageContext, key: str = "metrics") -> list:
    return [build(spec, bctx, f"{ctx.where}.{key}[{i}]") for i, spec in enumerate(specs)]


def build_data(spec, ctx: StageContext, inputs: dict[str, str] | None = None) -> DataSplits:
    """Build a stage's data; ``inputs`` hands it earlier stages' models (e.g. an encoder)."""
    artifacts = {key: ctx.model_of(ref) for key, ref in (inputs or {}).items()}
    data = build(spec, BuildContext(seed=ctx.seed, artifacts=artifacts), f"{ctx.where}.data")
    if not isinstance(data, DataSplits):
        raise UserError(f"{ctx.where}.data ({spec.name}) returned {type(data).__name__}, "
                        "not latentzoo.data.DataSplits")
    return data


# ---------------------------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------------------------


def run_evaluate(config: EvaluateConfig, ctx: StageContext) -> StageResult:
    accelerator = ctx.accelerator()
    data = build_data(config.data, ctx, config.inputs)
    inputs = {ref: ref for ref in config.models}
    if config.model:
        inputs[config.model] = config.model
    bctx = ctx.build_context(data, {**inputs, **config.inputs}, config.name)
    metrics = build_metrics(config.metrics, bctx, ctx)
    model = ctx.model_of(config.model).to(accelerator.device) if config.model else None
    models = {name: ctx.model_of(name).to(accelerator.device) for name in config.models}
    evaluator = Evaluator(accelerator, model=model, data=data, split=config.split, models=models,
                          batch_size=config.batch_size, artifacts=bctx.artifacts)
    values = compute_metrics(metrics, evaluator, ctx)
    ctx.log_scalars(values, 0, "eval/")
    return StageResult(config.name, model=model, metrics=values)


# ---------------------------------------------------------------------------------------------
# generate
# ---------------------------------------------------------------------------------------------


def _as_images(samples: torch.Tensor) -> torch.Tensor | None:
    """(N, C, H, W) images, or None for 2-D points and 1-D signals."""
    if samples.dim() == 2:
        side = int(round(math.sqrt(samples.shape[1])))
        if samples.shape[1] == 2 or side * side != samples.shape[1]:
            return None
        return samples.reshape(-1, 1, side, side)
    if samples.dim() == 3:
        return samples.unsqueeze(1)
    return samples if samples.dim() == 4 else None


def _show_image(axis, image: torch.Tensor, low: float, high: float) -> None:
    """One (C, H, W) image on the scale [low, high], clipped; grey for one channel."""
    image = ((image.permute(1, 2, 0).numpy() - low) / (high - low + 1e-8)).clip(0, 1)
    axis.imshow(image.squeeze(-1) if image.shape[-1] == 1 else image,
                cmap="gray" if image.shape[-1] == 1 else None)


def sample_figure(samples: torch.Tensor, count: int, value_range: tuple[float, float] | None = None):
    """A grid of images, a scatter of 2-D points, or line plots of 1-D signals.

    Every image is shown on one scale: ``value_range`` (the real data's, when the stage has
    data), else the grid's own minimum and maximum; values outside are clipped, so grids of two
    samplers compare pixel for pixel.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = samples[:count].float().cpu()
    if samples.dim() == 2 and samples.shape[1] == 2:
        figure, axis = plt.subplots(figsize=(4, 4))
        axis.scatter(samples[:, 0], samples[:, 1], s=4, alpha=0.6)
        axis.set_aspect("equal")
        return figure
    images = _as_images(samples)
    if images is None:  # 1-D signals
        figure, axes = plt.subplots(4, 4, figsize=(8, 6), sharex=True)
        for axis, signal in zip(axes.flat, samples, strict=False):
            axis.plot(signal.numpy())
        return figure
    low, high = value_range if value_range is not None else (images.min().item(), images.max().item())
    columns = int(math.ceil(math.sqrt(len(images))))
    rows = int(math.ceil(len(images) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 0.8, rows * 0.8))
    for axis in getattr(axes, "flat", [axes]):
        axis.axis("off")
    for axis, image in zip(getattr(axes, "flat", [axes]), images, strict=False):
        _show_image(axis, image, low, high)
    figure.subplots_adjust(wspace=0.05, hspace=0.05)
    return figure


def samples_by_stage_figure(samples: dict[str, torch.Tensor], per_row: int = 16,
                            reference: torch.Tensor | None = None):
    """One row of the first ``per_row`` samples of each generate stage of a run, all on one scale
    (the 0.5 and 99.5 percentiles of the pooled values, clipped), so samplers compare by eye;
    a first row of real examples when ``reference`` is given. None when there are fewer than
    two stages of images."""
    rows = {name: images[:per_row].float().cpu() for name, value in samples.items()
            if (images := _as_images(value)) is not None}
    if len(rows) < 2:
        return None
    if reference is not None and (images := _as_images(reference)) is not None:
        rows = {"real": images[:per_row].float().cpu()} | rows
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pooled = torch.cat([images.flatten() for images in rows.values()])
    low, high = torch.quantile(pooled, torch.tensor([0.005, 0.995])).tolist()
    columns = max(len(images) for images in rows.values())
    figure, axes = plt.subplots(len(rows), columns, figsize=(columns * 0.6, len(rows) * 0.65),
                                squeeze=False)
    for row, (name, images) in zip(axes, rows.items(), strict=True):
        for axis in row:
            axis.axis("off")
        for axis, image in zip(row, images, strict=False):
            _show_image(axis, image, low, high)
        row[0].text(-0.15, 0.5, name, transform=row[0].transAxes, ha="right", va="center", fontsize=9)
    figure.subplots_adjust(wspace=0.05, hspace=0.08, left=0.12)
    return figure


def run_generate(config: GenerateConfig, ctx: StageContext) -> StageResult:
    accelerator = ctx.accelerator()
    data = build_data(config.data, ctx, config.inputs) if config.data is not None else None
    inputs = dict(config.inputs)
    bctx = ctx.build_context(data, inputs, config.name)
    bctx.artifacts.setdefault("model", ctx.model_of(config.model))
    sampler = build(config.sampler, bctx, f"{ctx.where}.sampler")
    if not callable(getattr(sampler, "sample", None)):
        raise UserError(f"{ctx.where}.sampler ({config.sampler.name}) cannot generate: it has no "
                        "sample(model, num) method")
    metrics = build_metrics(config.metrics, bctx, ctx)
    model = ctx.model_of(config.model).to(accelerator.device).eval()
    world = accelerator.num_processes
    per_process = -(-config.num_samples // world)
    chunks = []
    with torch.no_grad():
        for start in range(0, per_process, config.batch_size):
            count = min(config.batch_size, per_process - start)
            chunks.append(sampler.sample(model, count).float())
    samples = torch.cat(chunks)
    if data is not None and tuple(samples.shape[1:]) != tuple(data.info.input_shape):
        raise UserError(f"{ctx.where}.sampler ({config.sampler.name}) returned samples shaped "
                        f"{tuple(samples.shape[1:])}, but the data's inputs are shaped "
                        f"{tuple(data.info.input_shape)}")
    if len(samples) < per_process:
        raise UserError(f"{ctx.where}.sampler ({config.sampler.name}) returned {len(samples)} "
                        f"samples, {per_process} were asked for")
    if world > 1:
        samples = accelerator.gather(samples.contiguous())
    samples = samples[: config.num_samples].cpu()
    real = data.split(config.split)["x"] if data is not None else None
    if config.grid:
        value_range = (real.min().item(), real.max().item()) if real is not None else None
        ctx.save_figure("samples", sample_figure(samples, config.grid, value_range))
    evaluator = Evaluator(accelerator, model=model, data=data, split=config.split,
                          samples=samples, artifacts=bctx.artifacts, sampler=sampler)
    values = compute_metrics(metrics, evaluator, ctx)
    ctx.log_scalars(values, 0, "generate/")
    return StageResult(config.name, model=model, metrics=values, samples=samples,
                       reference=real[:16].clone() if real is not None else None)
