"""Sampling cost of a generate stage: network evaluations per sample and wall time per 1000.

The generate stage's sampler puts itself in the stage's artifacts as ``"sampler"``
(:func:`latentzoo_diffusion.samplers.register_sampler`). This metric wraps the model in a
call counter, draws ``num_samples`` samples once more after a small warm-up call, and reports

- ``nfe_per_sample``: calls of the model's forward per sample (a batched call counts once per
  sample, so a 2-step consistency sampler reports 2 and a 50-step DDIM 50);
- ``seconds_per_1000``: wall-clock seconds of that draw (decoder included), scaled to 1000
  samples. Wall time depends on the machine and its load: compare arms of one run only.
"""

from __future__ import annotations

import time

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError
from torch import nn

__all__ = ["CallCounter", "SamplingCostConfig", "sampling_cost"]


class CallCounter(nn.Module):
    """Forwards to ``module`` and counts the examples it has been called on."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module
        self.examples = 0

    def forward(self, x, *args, **kwargs):
        self.examples += len(x)
        return self.module(x, *args, **kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)


@attrs.frozen
class SamplingCostConfig:
    num_samples: int = option(1000, "samples drawn for the timing", gt=0)
    prefix: str = option("", "prefix of the reported names")


def sampling_cost(config: SamplingCostConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        sampler = evaluator.artifacts.get("sampler")
        if sampler is None or evaluator.model is None:
            raise UserError("diffusion.sampling_cost times the sampler of a generate stage; use it "
                            "in a generate stage whose sampler is a latentzoo-diffusion or "
                            "compatible sampler (it registers itself as artifacts['sampler'])")
        counter = CallCounter(evaluator.model).eval()
        with torch.no_grad():
            sampler.sample(counter, min(8, config.num_samples))  # warm-up
            counter.examples = 0
            start = time.perf_counter()
            sampler.sample(counter, config.num_samples)
            seconds = time.perf_counter() - start
        return {config.prefix + "nfe_per_sample": counter.examples / config.num_samples,
                config.prefix + "seconds_per_1000": seconds * 1000 / config.num_samples}

    return metric
