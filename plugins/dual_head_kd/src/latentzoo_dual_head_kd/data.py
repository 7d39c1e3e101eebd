"""``builtin.mnist1d`` memoised in the process (a workaround, not a new data set).

The core's ``builtin.mnist1d`` runs the ``mnist1d`` generator every time a stage builds its
data: twice per teacher→student run, i.e. ~30 times per reproduction sweep, and each call takes
seconds on a loaded CPU (it dominated the repro's wall time). The generator is deterministic
in ``(num_samples, seed)``, so this component builds each configuration once per process and
hands every stage its own copy of the tensors. Same config fields, same splits, same values.
"""

from __future__ import annotations

import copy

import attrs
from latentzoo.builtin.datasets import Mnist1dConfig, mnist1d
from latentzoo.data import DataSplits

__all__ = ["cached_mnist1d"]

_CACHE: dict[tuple, DataSplits] = {}


def cached_mnist1d(config: Mnist1dConfig, ctx) -> DataSplits:
    key = attrs.astuple(config)
    if key not in _CACHE:
        _CACHE[key] = mnist1d(config, ctx)
    data = _CACHE[key]
    splits = {name: {k: v.clone() for k, v in data.split(name).items()} for name in data.splits}
    return DataSplits(splits, copy.deepcopy(data.info), name="dual_head_kd.mnist1d")
