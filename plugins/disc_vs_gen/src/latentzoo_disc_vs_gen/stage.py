"""The ``disc_vs_gen.sample_complexity`` stage: NB vs LR error curves on frozen features.

Zheng et al., arXiv:2302.02334, Sec. 5.2 ("linear evaluation"): a feature extractor trained by
an earlier stage is frozen; its representation (``model.embed``) of the stage's data is the
input of both classifiers, which are compared over a grid of training-set sizes m (see
:mod:`latentzoo_disc_vs_gen.curves`). Without ``features`` the raw inputs are used (the
simulation of Sec. 5.1, or raw pixels).

.. code-block:: toml

    [[stages]]
    kind = "train"
    name = "encoder"
    data = { name = "disc_vs_gen.digits_halves", half = "pretrain" }
    model = { name = "builtin.mlp", hidden = [128, 64] }
    loss = "builtin.cross_entropy"

    [[stages]]
    kind = "disc_vs_gen.sample_complexity"
    name = "curve"
    features = "encoder"
    data = { name = "disc_vs_gen.digits_halves", half = "probe" }
    shots = [3, 5, 10, 20, 50]
    geometric = 0
    repeats = 10
    preprocess = "minmax"

Every process computes the same curve (same features, same seeded draws); only the main one
writes ``curve.json`` and the figure ``figures/error_vs_m.png``.
"""

from __future__ import annotations

import json

import attrs
import torch
from latentzoo.config import DataSpec, option
from latentzoo.evaluation import Evaluator
from latentzoo.experiment import StageConfig
from latentzoo.runs import atomic_write_text
from latentzoo.stages import StageContext, StageResult, build_data

from latentzoo_disc_vs_gen.curves import CurveOptions, compute_curve, curve_figure, curve_metrics

__all__ = ["SampleComplexityConfig", "run_sample_complexity"]


@attrs.frozen
class SampleComplexityConfig(StageConfig, CurveOptions):
    """NB vs LR over training-set sizes m, on the frozen features of an earlier stage."""

    name: str = option("sample_complexity", "the stage's name")
    data: DataSpec = option(doc="the data both classifiers are fitted (train split) and tested (test split) on")
    features: str = option("", "earlier stage whose model's embed(x) gives the frozen features ('': raw x)")
    train_split: str = option("train", "split the m-point training subsets are drawn from")
    test_split: str = option("test", "split the errors are measured on")
    batch_size: int = option(512, "examples per forward pass when extracting features", gt=0)
    figure: bool = option(True, "save figures/error_vs_m.png")

    def artifact_refs(self):
        return [("features", self.features)] if self.features else []


def _features(ctx: StageContext, config: SampleComplexityConfig, data) -> dict[str, torch.Tensor]:
    if not config.features:
        return {split: data.split(split)["x"].flatten(1) for split in (config.train_split, config.test_split)}
    accelerator = ctx.accelerator()
    model = ctx.model_of(config.features).to(accelerator.device)
    evaluator = Evaluator(accelerator, model=model, data=data, batch_size=config.batch_size)
    return {split: evaluator.features(split) for split in (config.train_split, config.test_split)}


def run_sample_complexity(config: SampleComplexityConfig, ctx: StageContext) -> StageResult:
    data = build_data(config.data, ctx)
    bctx = ctx.build_context(data, {config.features: config.features} if config.features else None,
                             config.name)
    features = _features(ctx, config, data)
    train_y = data.split(config.train_split)["y"].cpu().numpy()
    test_y = data.split(config.test_split)["y"].cpu().numpy()
    curve = compute_curve(config, bctx, features[config.train_split], train_y,
                          features[config.test_split], test_y, ctx.seed, ctx.where)
    classes = len(set(train_y.tolist()))
    bayes_error = data.info.extras.get("bayes_error")
    values = curve_metrics(curve, config, classes, bayes_error=bayes_error)
    ctx.log_scalars(values, 0, f"{config.name}/")
    if ctx.is_main_process:
        record = curve.as_dict() | {"features": config.features or "raw", "bayes_error": bayes_error,
                                    "metrics": values}
        atomic_write_text(ctx.stage_dir / "curve.json", json.dumps(record, indent=1) + "\n")
    if config.figure:
        source = f"features of '{config.features}'" if config.features else "raw inputs"
        title = f"{data.name}: {source}, n = {features[config.train_split].shape[1]}, K = {classes}"
        ctx.save_figure("error_vs_m", curve_figure(curve, title, bayes_error, config.delta))
    return StageResult(config.name, metrics=values, extras={"curve": curve})
