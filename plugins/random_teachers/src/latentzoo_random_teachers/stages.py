"""``random_init``: a stage whose artifact is an untrained, randomly initialised network.

This is the random teacher of "Random Teachers are Good Teachers" (arXiv 2302.12091): it
is drawn once (from the stage's seed, or the model's ``init_seed``), never updated, and handed to
later stages by name: the student (``random_teachers.student``) and the distillation loss
(``random_teachers.distill_ce``) read it from their ``inputs``; an ``evaluate`` stage with
``model = "<this stage>"`` probes it exactly like the student.

The network is put in eval mode: its BatchNorm layers use their initial running statistics
(μ = 0, σ² = 1), as the official code's ``t_eval=True``.
"""

from __future__ import annotations

import attrs
from latentzoo.build import build
from latentzoo.config import DataSpec, ModelSpec, option
from latentzoo.experiment import StageConfig
from latentzoo.stages import StageContext, StageResult, build_data


@attrs.frozen
class RandomInitConfig(StageConfig):
    name: str = option("teacher", "the stage's name; later stages use the network by this name")
    data: DataSpec = option(doc="data whose input shape the network is built for")
    model: ModelSpec = option(doc="the network to draw (random_teachers.dino_net)")


def run_random_init(config: RandomInitConfig, ctx: StageContext) -> StageResult:
    data = build_data(config.data, ctx)
    bctx = ctx.build_context(data, {}, config.name)
    model = build(config.model, bctx, f"{ctx.where}.model")
    model.eval().requires_grad_(False)
    parameters = sum(p.numel() for p in model.parameters())
    return StageResult(config.name, model=model, metrics={"parameters": float(parameters)})
