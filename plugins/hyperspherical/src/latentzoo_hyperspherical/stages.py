"""``timed_train``: the core's training loop, timed (claim C3 of the spec: cheaper training).

The paper argues that the hyperspherical classifier trains more cheaply than pairwise metric
learners because it needs no pairs or triplets. This stage runs :func:`latentzoo.training.run_train`
unchanged and adds:

- ``train_seconds``: wall clock of the whole stage (building data and model, the loop, saving);
- ``seconds_per_epoch``: steady-state loop time. The loop logs the loss every ``log_every``
  updates; the stage notes the clock at each of those calls and divides the time between the
  first and the last by the updates in between, which leaves out set-up, imports and the first
  ``log_every`` updates (warm-up). One epoch = |training split| / (batch_size · grad_accum ·
  processes) updates; with an episode sampler set ``batch_size`` to the episode size so that an
  epoch counts the same examples. With ``steps <= log_every`` it falls back to the whole stage.

Both are the mean over processes, so every process reports the same numbers.
"""

from __future__ import annotations

import time

import attrs
from latentzoo.experiment import TrainConfig
from latentzoo.stages import StageContext, StageResult, build_data
from latentzoo.training import run_train


@attrs.define
class _ClockedContext(StageContext):
    """A stage context that notes the time of each of the loop's loss-logging calls."""

    ticks: list = attrs.field(factory=list)

    def log_scalars(self, values, step, prefix=""):
        if not prefix and "train/loss" in values:
            self.ticks.append((step, time.perf_counter()))
        super().log_scalars(values, step, prefix)


def run_timed_train(config: TrainConfig, ctx: StageContext) -> StageResult:
    fields = {field.alias: getattr(ctx, field.name) for field in attrs.fields(StageContext)}
    clocked = _ClockedContext(**fields)
    accelerator = clocked.accelerator(config.mixed_precision)
    accelerator.wait_for_everyone()
    started = time.perf_counter()
    result = run_train(config, clocked)
    accelerator.wait_for_everyone()
    total = time.perf_counter() - started
    size = build_data(config.data, ctx).size("train")
    steps_per_epoch = size / (config.batch_size * config.grad_accum * accelerator.num_processes)
    ticks = clocked.ticks
    if len(ticks) >= 2 and ticks[-1][0] > ticks[0][0]:
        per_step = (ticks[-1][1] - ticks[0][1]) / (ticks[-1][0] - ticks[0][0])
    else:
        per_step = total / config.steps
    values = [total, per_step * steps_per_epoch]
    if accelerator.num_processes > 1:
        import torch

        box = torch.tensor(values, dtype=torch.float64, device=accelerator.device)
        values = accelerator.reduce(box, reduction="mean").tolist()
    result.metrics = {**result.metrics, "train_seconds": values[0], "seconds_per_epoch": values[1]}
    return result
