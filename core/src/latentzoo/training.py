"""The training loop: the only one in latentzoo.

One optimiser update per step: ``grad_accum`` micro-batches, each ``batch = sampler(batch)``
(if a sampler is set) then ``loss(model, batch)``; gradient clipping; the optimiser and the
learning-rate schedule; the EMA of the weights; then ``loss.after_step(model, step)`` if the
loss defines it. Model and loss are wrapped together in one module so that Accelerate's
``prepare`` (DDP, mixed precision) covers the loss's own parameters too.

Every ``checkpoint_every`` updates the full state (model, loss state, optimiser, schedule, EMA,
data position, RNG of every process) is saved atomically; ``latentzoo run --resume`` continues
from the newest checkpoint to the same result as an unbroken run.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import time

import torch
from torch import nn
from tqdm.auto import tqdm

from latentzoo.build import build
from latentzoo.data import BatchIterator
from latentzoo.ema import EMA
from latentzoo.errors import TrainingDivergedError, UserError
from latentzoo.evaluation import Evaluator
from latentzoo.experiment import OptimizerConfig, TrainConfig
from latentzoo.runs import atomic_torch_save, latest_checkpoint, save_checkpoint
from latentzoo.stages import StageContext, StageResult, build_data, build_metrics, compute_metrics


class TrainModule(nn.Module):
    """Model and loss as one module: ``forward(batch) = loss(model, batch)``."""

    def __init__(self, model: nn.Module, loss: nn.Module):
        super().__init__()
        self.model = model
        self.loss = loss

    def forward(self, batch):
        return self.loss(self.model, batch)


class Progress:
    """The step counter, checkpointed with the rest of the state."""

    def __init__(self):
        self.step = 0

    def state_dict(self):
        return {"step": self.step}

    def load_state_dict(self, state):
        self.step = int(state["step"])


def parameter_groups(parameters: list[nn.Parameter], config: OptimizerConfig) -> list[dict]:
    """One group, or two when biases and norm weights (1-D tensors) have their own weight decay."""
    if config.weight_decay_1d is None or config.weight_decay_1d == config.weight_decay:
        return [{"params": parameters}]
    return [{"params": [p for p in parameters if p.ndim > 1]},
            {"params": [p for p in parameters if p.ndim <= 1], "weight_decay": config.weight_decay_1d}]


def make_optimizer(config: OptimizerConfig, parameters) -> torch.optim.Optimizer:
    if config.name == "sgd":
        return torch.optim.SGD(parameters, lr=config.lr, momentum=config.momentum,
                               weight_decay=config.weight_decay, nesterov=config.nesterov)
    cls = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "radam": torch.optim.RAdam}[config.name]
    return cls(parameters, lr=config.lr, betas=tuple(config.betas), eps=config.eps,
               weight_decay=config.weight_decay)


def lr_factor(step: int, total: int, warmup: int, schedule: str, milestones=(), gamma: float = 0.1) -> float:
    """Multiplier of the peak learning rate at ``step`` (0-based): linear warm-up, then decay."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    if schedule == "step":
        return gamma ** sum(step >= milestone for milestone in milestones)
    progress = (step - warmup) / max(1, total - warmup)
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return max(0.0, 1.0 - progress)  # linear


def _split_output(output) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    if isinstance(output, torch.Tensor):
        return output, {}
    if isinstance(output, dict) and "loss" in output:
        return output["loss"], {k: v for k, v in output.items() if k != "loss"}
    raise UserError("a loss must return a scalar tensor or a dict with key 'loss', "
                    f"found {type(output).__name__}")


def _check_replicas_agree(accelerator, module: nn.Module, where: str) -> None:
    """Every process must end with the same parameters (DDP keeps them in step)."""
    with torch.no_grad():
        checksum = torch.stack([p.detach().double().sum() for p in module.parameters()]).sum()
    sums = accelerator.gather(checksum.reshape(1).to(accelerator.device))
    if not torch.equal(sums, sums[:1].expand_as(sums)):
        raise RuntimeError(f"{where}: the processes ended training with different parameters "
                           f"(checksums {sums.tolist()}); a component changed parameters outside "
                           "the optimiser differently on each rank")


def run_train(config: TrainConfig, ctx: StageContext) -> StageResult:
    accelerator = ctx.accelerator(config.mixed_precision)
    where = ctx.where
    data = build_data(config.data, ctx, config.inputs)
    bctx = ctx.build_context(data, config.inputs, config.name)
    bctx.steps = config.steps
    if config.model is not None:
        model = build(config.model, bctx, f"{where}.model")
    else:
        model = copy.deepcopy(ctx.model_of(config.init_from))
    bctx.model = model
    loss = build(config.loss, bctx, f"{where}.loss")
    if not isinstance(loss, nn.Module):
        raise UserError(f"{where}.loss ({config.loss.name}) must be a torch.nn.Module")
    sampler = build(config.sampler, bctx, f"{where}.sampler") if config.sampler else None
    if sampler is not None and not callable(sampler):
        raise UserError(f"{where}.sampler ({config.sampler.name}) cannot be used in training: "
                        "it is not callable as sampler(batch)")
    metrics = build_metrics(config.metrics, bctx, ctx)

    module = TrainModule(model, loss).to(accelerator.device)
    parameters = [p for p in module.parameters() if p.requires_grad]
    if not parameters:
        raise UserError(f"{where}: nothing to train: the model and loss have no trainable parameters")
    optimizer = make_optimizer(config.optimizer, parameter_groups(parameters, config.optimizer))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, config.steps, config.warmup_steps, config.lr_schedule,
                                       config.lr_milestones, config.lr_gamma))
    if accelerator.num_processes > 1:
        from accelerate.utils import DistributedDataParallelKwargs

        accelerator.ddp_handler = DistributedDataParallelKwargs(
            find_unused_parameters=config.find_unused_parameters)
    if config.mixed_precision == "fp16":  # the gradient scaler lives in Accelerate's optimizer wrapper
        wrapped, optimizer = accelerator.prepare(module, optimizer)
    else:
        # Accelerate's optimizer wrapper costs ~1 ms per step on the CPU (it looks up an optional
        # package on every step()); without fp16 it adds nothing, so the plain optimizer is used
        # and checkpointed alongside (benchmarks/loop_overhead.py).
        wrapped = accelerator.prepare(module)
        accelerator.register_for_checkpointing(optimizer)
    ema = EMA(model, config.ema_decay).to(accelerator.device) if config.ema_decay > 0 else None
    batches = BatchIterator(data.split("train"), config.batch_size, seed=ctx.seed,
                            rank=accelerator.process_index, world_size=accelerator.num_processes,
                            device=accelerator.device)
    progress = Progress()
    for state in (scheduler, batches, progress) + ((ema,) if ema is not None else ()):
        accelerator.register_for_checkpointing(state)

    checkpoints = ctx.stage_dir / "checkpoints"
    resume_from = latest_checkpoint(checkpoints)
    if resume_from is not None:
        try:
            accelerator.load_state(str(resume_from))
        except Exception as error:  # noqa: BLE001 - any unreadable checkpoint is a user problem
            raise UserError(f"{where}: cannot load checkpoint {resume_from}: {error}; delete it "
                            "to resume from the one before") from error

    def evaluate(step: int) -> dict[str, float]:
        if not metrics:
            return {}
        evaluator = Evaluator(accelerator, model=ema.module if ema else model, data=data,
                              split=config.eval_split, step=step, artifacts=bctx.artifacts, loss=loss)
        values = compute_metrics(metrics, evaluator, ctx, step)
        ctx.log_scalars(values, step, "eval/")
        return values

    after_step = getattr(loss, "after_step", None)
    no_sync = accelerator.no_sync if accelerator.num_processes > 1 else (
        lambda _m: contextlib.nullcontext())
    losses: list[torch.Tensor] = []  # detached losses since the last log (summed only then)
    autocast = accelerator.autocast if config.mixed_precision != "no" else contextlib.nullcontext
    # Accelerate's backward() adds only the fp16 loss scaling (and DeepSpeed, not used here)
    backward = accelerator.backward if config.mixed_precision == "fp16" else torch.Tensor.backward
    fixed_lr = config.lr_schedule == "constant" and not config.warmup_steps
    logs: dict[str, torch.Tensor] = {}
    bar = tqdm(total=config.steps, initial=progress.step, desc=config.name, dynamic_ncols=True,
               disable=not accelerator.is_main_process or bool(os.environ.get("LATENTZOO_NO_PROGRESS")),
               leave=False)
    wrapped.train()
    step = progress.step
    first_step, started = step, time.perf_counter()
    while step < config.steps:
        for micro in range(config.grad_accum):
            batch = next(batches)
            if sampler is not None:
                batch = sampler(batch)
            last = micro == config.grad_accum - 1
            with contextlib.nullcontext() if last else no_sync(wrapped):
                with autocast():
                    try:
                        value, logs = _split_output(wrapped(batch))
                    except (UserError, ValueError) as error:
                        raise UserError(f"{where}.loss ({config.loss.name}) at step {step + 1}: {error}") from error
                backward(value / config.grad_accum if config.grad_accum > 1 else value)
            losses.append(value.detach())
        if config.grad_clip:
            accelerator.clip_grad_norm_(parameters, config.grad_clip)
        optimizer.step()
        if not fixed_lr:  # a constant rate needs no per-step update (the scheduler is still saved)
            scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        progress.step = step
        if ema is not None:
            ema.update(model)
        if after_step is not None:
            after_step(model=model, step=step)
        checkpoint_now = config.checkpoint_every and step % config.checkpoint_every == 0
        if step % config.log_every == 0 or step == config.steps or checkpoint_now:
            mean = torch.stack(losses).float().mean().item()
            if not math.isfinite(mean):
                last_good = latest_checkpoint(checkpoints)
                raise TrainingDivergedError(
                    f"{where} ({config.name}): the loss became {mean} between steps "
                    f"{step - len(losses) // config.grad_accum + 1} and {step}; stopped. "
                    + (f"The last good checkpoint is {last_good}." if last_good else
                       "No checkpoint was written before it.")
                    + " Lower the learning rate, set grad_clip, or check the data.")
            scalars = {"train/loss": mean, "train/lr": scheduler.get_last_lr()[0]}
            scalars.update({f"train/{k}": float(v.detach().float().mean()) for k, v in logs.items()})
            ctx.log_scalars(scalars, step)
            bar.set_postfix(loss=f"{mean:.4g}", refresh=False)
            losses.clear()
        bar.update(1)
        if config.eval_every and step % config.eval_every == 0 and step < config.steps:
            evaluate(step)
            wrapped.train()
        if checkpoint_now and step < config.steps:
            save_checkpoint(accelerator, checkpoints, step, config.keep_checkpoints)
    bar.close()
    elapsed = time.perf_counter() - started

    if accelerator.num_processes > 1:
        _check_replicas_agree(accelerator, module, where)
    final_model = ema.module if ema is not None else model
    values = evaluate(step)
    if config.report_time:  # of this process's loop since its start or resume
        values |= {"train_seconds": elapsed, "seconds_per_step": elapsed / max(1, step - first_step)}
    if accelerator.is_main_process:
        final = ctx.stage_dir / "final"
        atomic_torch_save(accelerator.unwrap_model(final_model).state_dict(), final / "model.pt")
        (final / "metrics.json").write_text(json.dumps(values, indent=2) + "\n")
    accelerator.wait_for_everyone()
    return StageResult(config.name, model=final_model, metrics=values,
                       extras={"loss": loss, "steps": step})
