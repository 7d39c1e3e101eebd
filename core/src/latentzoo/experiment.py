"""The shape of an experiment: stages, each with components, and an optional sweep.

This module only declares config classes (no torch); the stages' procedures live in
``latentzoo.stages`` and ``latentzoo.training``.

.. code-block:: toml

    name = "digits-quickstart"
    seed = 0

    [[stages]]
    kind = "train"
    name = "classifier"
    data = { name = "builtin.digits" }
    model = { name = "builtin.mlp", hidden = [128, 128] }
    loss = { name = "builtin.cross_entropy" }
    metrics = [{ name = "builtin.accuracy" }]
    steps = 300

A stage refers to the artifacts (trained models, samples) of earlier stages by their stage
name, e.g. ``model = "classifier"`` in an ``evaluate`` stage.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import attrs

from latentzoo.config import (
    DataSpec,
    LossSpec,
    MetricSpec,
    ModelSpec,
    SamplerSpec,
    StageSpec,
    annotate_overrides,
    apply_overrides,
    load_toml,
    option,
    structure,
    to_toml,
)
from latentzoo.errors import ConfigError, UserError, did_you_mean

# ---------------------------------------------------------------------------------------------
# Stage configs
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class StageConfig:
    """Fields every stage has. A plugin's stage config subclasses this."""

    name: str = option("stage", "the stage's name; later stages use its artifacts by this name")
    seed: int = option(-1, "the stage's seed (-1: the experiment's seed + the stage's index)", ge=-1)

    def artifact_refs(self) -> list[tuple[str, str]]:
        """``(config key, artifact name)`` for every artifact of an earlier stage this stage uses."""
        return []


@attrs.frozen
class OptimizerConfig:
    name: str = option("adamw", "optimiser", choices=("adam", "adamw", "radam", "sgd"))
    lr: float = option(1e-3, "peak learning rate", gt=0)
    weight_decay: float = option(0.0, "decoupled (adamw) or L2 (adam, sgd) weight decay", ge=0)
    weight_decay_1d: float | None = option(
        None, "weight decay of biases and norm weights (1-D tensors): 0 exempts them; unset: weight_decay", ge=0)
    betas: tuple[float, float] = option((0.9, 0.999), "Adam betas", ge=0, lt=1)
    eps: float = option(1e-8, "Adam epsilon", gt=0)
    momentum: float = option(0.9, "SGD momentum", ge=0, lt=1)
    nesterov: bool = option(False, "SGD Nesterov momentum")


@attrs.frozen
class TrainConfig(StageConfig):
    """The core's training loop: data, model and loss, optimised for ``steps`` updates."""

    name: str = option("train", "the stage's name; later stages use its artifacts by this name")
    data: DataSpec = option(doc="training and evaluation data")
    model: ModelSpec | None = option(None, "the model to train (or set init_from)")
    loss: LossSpec = option(doc="the training objective: loss(model, batch)")
    sampler: SamplerSpec | None = option(None, "optional draw applied to each batch before the loss")
    metrics: tuple[MetricSpec, ...] = option((), "metrics computed every eval_every steps and at the end")
    init_from: str = option("", "start from the model of this earlier stage (a copy)")
    inputs: dict[str, str] = option(factory=dict, doc="name -> earlier stage: artifacts the components use (ctx.artifacts)")
    steps: int = option(1000, "optimiser updates", gt=0)
    batch_size: int = option(128, "examples per process per micro-batch", gt=0)
    grad_accum: int = option(1, "micro-batches per optimiser update", gt=0)
    optimizer: OptimizerConfig = option(factory=OptimizerConfig, doc="optimiser")
    lr_schedule: str = option("constant", "learning-rate schedule after warm-up",
                              choices=("constant", "cosine", "linear", "step"))
    lr_milestones: tuple[int, ...] = option((), "step schedule: updates at which the rate is multiplied by lr_gamma", gt=0)
    lr_gamma: float = option(0.1, "step schedule: factor at each milestone", gt=0)
    warmup_steps: int = option(0, "linear warm-up updates", ge=0)
    grad_clip: float = option(0.0, "clip the global gradient norm to this (0: off)", ge=0)
    mixed_precision: str = option("no", "autocast precision", choices=("no", "fp16", "bf16"))
    ema_decay: float = option(0.0, "keep an EMA of the weights with this decay (0: off)", ge=0, lt=1)
    eval_every: int = option(0, "evaluate the metrics every N updates (0: only at the end)", ge=0)
    eval_split: str = option("test", "data split the metrics use")
    checkpoint_every: int = option(0, "write a resumable checkpoint every N updates (0: off)", ge=0)
    keep_checkpoints: int = option(2, "how many checkpoints to keep", gt=0)
    log_every: int = option(10, "log the loss every N updates", gt=0)
    find_unused_parameters: bool = option(False, "DDP: allow parameters without gradient")
    report_time: bool = option(False, "add train_seconds and seconds_per_step (wall clock of the loop) to the metrics")

    def __attrs_post_init__(self):
        if self.model is None and not self.init_from:
            raise ValueError("a train stage needs 'model' (a component) or 'init_from' (an earlier stage)")

    def artifact_refs(self):
        refs = [(f"inputs.{key}", value) for key, value in self.inputs.items()]
        if self.init_from:
            refs.append(("init_from", self.init_from))
        return refs


@attrs.frozen
class EvaluateConfig(StageConfig):
    """Metrics on trained models of earlier stages, without training."""

    name: str = option("evaluate", "the stage's name")
    data: DataSpec = option(doc="evaluation data")
    model: str = option("", "earlier stage whose model is evaluated (evaluator.model)")
    models: tuple[str, ...] = option((), "further earlier stages whose models metrics see (evaluator.models)")
    metrics: tuple[MetricSpec, ...] = option((), "metrics to compute")
    split: str = option("test", "data split the metrics use")
    batch_size: int = option(256, "examples per process per forward pass", gt=0)
    inputs: dict[str, str] = option(factory=dict, doc="name -> earlier stage: models the data and metrics use (ctx.artifacts)")

    def artifact_refs(self):
        refs = [("model", self.model)] if self.model else []
        refs += [(f"inputs.{key}", value) for key, value in self.inputs.items()]
        return refs + [(f"models[{i}]", m) for i, m in enumerate(self.models)]


@attrs.frozen
class GenerateConfig(StageConfig):
    """Draw samples from a trained model, save a grid, and score them against real data."""

    name: str = option("generate", "the stage's name")
    model: str = option(doc="earlier stage whose model generates")
    sampler: SamplerSpec = option(doc="how to draw: sampler.sample(model, num)")
    data: DataSpec | None = option(None, "real data the metrics compare with")
    metrics: tuple[MetricSpec, ...] = option((), "metrics on the samples (e.g. builtin.sliced_wasserstein)")
    split: str = option("test", "real-data split the metrics compare with")
    num_samples: int = option(1000, "samples to draw (in all processes together)", gt=0)
    batch_size: int = option(500, "samples per sampler call", gt=0)
    grid: int = option(64, "samples shown in the PNG grid (0: none)", ge=0)
    inputs: dict[str, str] = option(factory=dict, doc="name -> earlier stage: further artifacts the sampler uses")

    def artifact_refs(self):
        return [("model", self.model)] + [(f"inputs.{k}", v) for k, v in self.inputs.items()]


# ---------------------------------------------------------------------------------------------
# Sweeps and claims
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class Claim:
    """An inequality between arms' metrics: ``lhs op scale * rhs + offset``.

    ``lhs`` and ``rhs`` are ``"arm:stage.metric"`` (mean over seeds), a number, or the ratio or
    difference of two of these (``"a:eval.fd / b:eval.fd"``, ``"a:eval.acc - b:eval.acc"``).

    A trend along the sweep's axis: ``op = "increases"`` (or ``"decreases"``) with ``lhs`` an arm's
    metric (the arm's name before ``@``, or the axis name when the sweep has no arms) and ``rhs``
    the least Spearman correlation between the axis values and the seed means (1 = monotone).
    """

    text: str = option(doc="the paper's claim in words")
    lhs: str = option(doc="'arm:stage.metric'")
    op: str = option(doc="comparison", choices=(">", ">=", "<", "<=", "increases", "decreases"))
    rhs: str | float = option(doc="'arm:stage.metric', or a number (for a trend: the least Spearman correlation)")
    scale: float = option(1.0, "multiplies rhs")
    offset: float = option(0.0, "added to scale * rhs")


@attrs.frozen
class SweepConfig:
    """Arms (named override sets) x seeds; optionally a numeric axis of values."""

    seeds: tuple[int, ...] = option((0,), "seeds each arm runs with")
    arms: dict[str, tuple[str, ...]] = option(factory=dict, doc="arm name -> overrides")
    axis: str = option("", "config path varied over 'values' (x-axis of the report figure)")
    values: tuple[float, ...] = option((), "values of 'axis'")
    claims: tuple[Claim, ...] = option((), "claims the report checks")
    quick_overrides: tuple[str, ...] = option((), "overrides for a smoke version (repro --quick)")
    quick_seeds: tuple[int, ...] = option((0,), "seeds of the smoke version")
    quick_values: tuple[float, ...] = option((), "values of 'axis' in the smoke version (default: all)")
    reuse_stages: bool = option(
        True, "copy a stage's result from an earlier run of the sweep when it and every stage before "
              "it have the same config and seed (e.g. one teacher for every student arm)")


@attrs.frozen
class Experiment:
    name: str = option("experiment", "names the run directory")
    description: str = option("", "what this experiment shows")
    seed: int = option(0, "global seed (data order, initialisation, draws)")
    runs_dir: str = option("runs", "where run directories are created (relative to the working directory)")
    stages: tuple[StageSpec, ...] = option(doc="what to run, in order")
    sweep: SweepConfig | None = option(None, "arms and seeds to run this experiment over")

    def stage(self, name: str) -> StageSpec:
        for spec in self.stages:
            if spec.config.name == name:
                return spec
        raise KeyError(name)


# ---------------------------------------------------------------------------------------------
# Resolving a config
# ---------------------------------------------------------------------------------------------


def check_stages(experiment: Experiment, source: str) -> None:
    """Stage names are unique and every artifact comes from an earlier stage."""
    if not experiment.stages:
        raise ConfigError(f"{source}: 'stages' is empty; an experiment needs at least one stage")
    seen: list[str] = []
    for index, spec in enumerate(experiment.stages):
        name = spec.config.name
        if name in seen:
            raise ConfigError(
                f"{source}: stages[{index}].name: stage name '{name}' is used twice; "
                "stage names must be unique (later stages refer to them)")
        for key, ref in spec.config.artifact_refs():
            if ref not in seen:
                later = [s.config.name for s in experiment.stages[index + 1:]]
                hint = (f"; '{ref}' is a later stage, artifacts flow forward only" if ref in later
                        else did_you_mean(ref, seen))
                raise ConfigError(
                    f"{source}: stages[{index}].{key}: artifact '{ref}' is not produced by an "
                    f"earlier stage (earlier stages: {', '.join(seen) or 'none'}){hint}")
        seen.append(name)


def parse_experiment(raw: dict[str, Any], source: str = "config",
                     overrides: tuple[str, ...] = ()) -> Experiment:
    if "stages" not in raw:
        raise ConfigError(f"{source}: no [[stages]]: an experiment needs at least one stage")
    try:
        experiment = structure(raw, Experiment, source)
    except UserError as error:
        raise annotate_overrides(error, overrides) from None
    check_stages(experiment, source)
    return experiment


def load_experiment(path: str | Path, overrides: tuple[str, ...] | list[str] = ()) -> tuple[Experiment, dict]:
    """Read, compose, override and parse a config file. Returns the experiment and its raw dict."""
    raw = apply_overrides(load_toml(path), list(overrides))
    return parse_experiment(raw, str(path), tuple(overrides)), raw


def config_hash(experiment: Experiment) -> str:
    return hashlib.sha256(to_toml(experiment).encode()).hexdigest()[:16]
