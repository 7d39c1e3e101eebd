"""The latentzoo test kit: conformance tests every plugin runs over its own components.

.. code-block:: python

    from latentzoo.testing import PluginConformance

    class TestConformance(PluginConformance):
        plugin = "my_method"

For every component the plugin registers, the kit checks (the timm ``test_models.py`` pattern):

- the target and config class import, and the config round-trips through TOML;
- data components build and give equal-length splits matching ``DataInfo.input_shape``;
  models build on digits (or their ``example``) and give finite outputs with gradients;
- the component's ``example`` experiment runs end to end through the core's loop on the CPU
  (finite loss, finite metrics, samples shaped like the data);
- the first training example also runs in 2 processes (gloo); the core's loop checks that
  both ranks end with identical parameters;
- ``latentzoo repro <plugin> --quick`` runs and writes its report.

The pytest plugin (entry point ``pytest11``) parametrises these tests by component.
"""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import tomli_w

from latentzoo.config import (
    DataSpec,
    LossSpec,
    MetricSpec,
    ModelSpec,
    SamplerSpec,
    StageSpec,
    structure,
    unstructure,
)
from latentzoo.plugins import get_registry

SPEC_CLASSES = {"data": DataSpec, "model": ModelSpec, "loss": LossSpec, "sampler": SamplerSpec,
                "metric": MetricSpec, "stage": StageSpec}
NEEDS_EXAMPLE = ("loss", "sampler", "metric", "stage")


def plugin_entries(plugin: str):
    return [e for e in get_registry().entries() if e.plugin == plugin]


def example_experiment(entry) -> dict | None:
    if entry.example is None:
        return None
    example = copy.deepcopy(entry.example)
    if "stages" not in example:  # a single stage given directly
        example = {"stages": [example]}
    example.setdefault("name", f"example-{entry.name}")
    return example


def run_example(experiment_dict: dict, run_dir: Path) -> dict:
    """Run an experiment dict in-process on the CPU; returns its metrics."""
    from latentzoo.experiment import parse_experiment
    from latentzoo.runner import run_experiment

    experiment = parse_experiment(experiment_dict, "example")
    return run_experiment(experiment, run_dir, cpu=True)


def _finite(metrics: dict) -> list[str]:
    return [f"{stage}.{name} = {value}" for stage, values in metrics.items()
            for name, value in values.items() if not math.isfinite(value)]


class PluginConformance:
    """Subclass with ``plugin = "<name>"``; the tests are parametrised per component."""

    plugin: str = ""

    # -- the plugin as a whole ------------------------------------------------------------------
    def test_plugin_loads(self):
        registry = get_registry()
        assert self.plugin not in registry.failed_plugins, registry.failed_plugins.get(self.plugin)
        assert self.plugin in registry.plugins, f"plugin '{self.plugin}' is not installed"
        assert plugin_entries(self.plugin), f"plugin '{self.plugin}' registers no component"

    def test_listing_does_not_import_heavy_modules(self):
        code = ("import sys; from latentzoo.plugins import get_registry; get_registry(); "
                "print(int('torch' in sys.modules))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "0", "registering the plugins imported torch: keep plugin.py light"

    # -- each component -------------------------------------------------------------------------
    def test_config_roundtrip(self, entry):
        config_cls = entry.load_config()
        spec_cls = SPEC_CLASSES[entry.kind]
        example = example_experiment(entry)
        try:
            spec = structure({spec_cls.key: entry.name}, spec_cls)
        except Exception:  # noqa: BLE001 - required fields: use the example's table instead
            table = _find_component(example, entry) if example else None
            if table is None:
                pytest.skip(f"{entry.name}: config has required fields and no example uses it")
            spec = structure(table, spec_cls)
        text = tomli_w.dumps(_drop_none(unstructure(spec)))
        again = structure(tomllib.loads(text), spec_cls)
        assert again == spec, f"{entry.name}: config changed through TOML:\n{text}"
        assert isinstance(spec.config, config_cls)

    def test_target_imports(self, entry):
        assert callable(entry.load_target()), f"{entry.target} is not callable"

    def test_builds(self, entry, tmp_path):
        import torch

        from latentzoo.build import BuildContext, build

        if entry.kind == "data":
            from latentzoo.errors import MissingDataError

            example = example_experiment(entry)
            table = _find_component(example, entry) if example else None
            try:
                spec = structure(table or {"name": entry.name}, DataSpec)
            except Exception:  # noqa: BLE001 - required fields (a path) and no example
                pytest.skip(f"{entry.name}: config has required fields and no example uses it")
            try:
                data = build(spec, BuildContext(seed=0))
            except MissingDataError as error:
                pytest.skip(f"{entry.name}: its data is not on this machine ({error})")
            for split in data.splits:
                x = data.split(split)["x"]
                assert len(x) > 0, f"split {split} is empty"
                assert tuple(x.shape[1:]) == tuple(data.info.input_shape), (
                    f"split {split}: x has shape {tuple(x.shape[1:])}, info says {data.info.input_shape}")
                assert torch.isfinite(x.float()).all()
        elif entry.kind == "model" and entry.example is None:
            digits = build(structure({"name": "builtin.digits"}, DataSpec), BuildContext(seed=0))
            ctx = BuildContext(data=digits.info, splits=digits, seed=0)
            try:
                model = build(structure({"name": entry.name}, ModelSpec), ctx)
            except Exception as error:  # noqa: BLE001
                pytest.fail(f"{entry.name} does not build on builtin.digits ({error}); register an "
                            "example= that shows the data it needs")
            out = model(digits.split("train")["x"][:8])
            assert torch.isfinite(out).all()
            out.float().sum().backward()
        elif entry.example is None and entry.kind in NEEDS_EXAMPLE:
            pytest.fail(f"{entry.kind} {entry.name} registers no example= experiment; the kit "
                        "needs one to run it")

    def test_example_runs(self, entry, tmp_path):
        example = example_experiment(entry)
        if example is None:
            pytest.skip(f"{entry.name} has no example")
        assert _find_component(example, entry) is not None or entry.kind == "stage" and any(
            s.get("kind") in (entry.name, entry.short_name) for s in example["stages"]), (
            f"{entry.name}'s example does not use {entry.name}")
        metrics = run_example(example, tmp_path / "run")
        assert not _finite(metrics), f"non-finite metrics: {_finite(metrics)}"
        assert (tmp_path / "run" / "metrics.json").exists()

    # -- distributed smoke ----------------------------------------------------------------------
    def test_two_process_smoke(self, tmp_path):
        examples = [example_experiment(e) for e in plugin_entries(self.plugin)]
        examples = [e for e in examples if e and any(s.get("kind", "train") in ("train", "builtin.train")
                                                     for s in e["stages"])]
        if not examples:
            pytest.skip("no training example to run in 2 processes")
        config = tmp_path / "example.toml"
        config.write_text(tomli_w.dumps(examples[0]))
        run_dir = tmp_path / "run"
        env = dict(os.environ, OMP_NUM_THREADS="1", LATENTZOO_NO_PROGRESS="1")
        command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                   "--master_port", str(free_port()), "-m", "latentzoo.cli", "run",
                   str(config), "--run-dir", str(run_dir), "--cpu"]
        out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert not _finite(metrics), f"non-finite metrics: {_finite(metrics)}"

    # -- reproduction smoke ---------------------------------------------------------------------
    def test_repro_quick(self, tmp_path):
        from latentzoo.cli import main, repro_configs

        try:
            repro_configs(self.plugin)
        except Exception as error:  # noqa: BLE001
            pytest.fail(f"plugin '{self.plugin}' declares no reproduction: {error}")
        assert main(["repro", self.plugin, "--quick", "--run-dir", str(tmp_path / "repro"), "--cpu"]) == 0
        assert (tmp_path / "repro" / "REPRO.md").exists()


class OneProcess:
    """What :class:`latentzoo.evaluation.Evaluator` uses of an Accelerator, for one CPU process."""

    process_index = 0
    num_processes = 1
    is_main_process = True

    @property
    def device(self):
        import torch

        return torch.device("cpu")

    def autocast(self):
        import contextlib

        return contextlib.nullcontext()

    def gather(self, tensor):
        return tensor


def make_evaluator(model, splits: dict, num_classes: int | None = None, split: str = "test", **kwargs):
    """An Evaluator over hand-made splits (``{"test": {"x": ..., "y": ...}}``), for metric tests."""
    from latentzoo.data import DataInfo, DataSplits
    from latentzoo.evaluation import Evaluator

    first = next(iter(splits.values()))["x"]
    data = DataSplits(splits, DataInfo(input_shape=tuple(first.shape[1:]), num_classes=num_classes))
    return Evaluator(OneProcess(), model=model, data=data, split=split, **kwargs)


def free_port() -> int:
    """A TCP port nobody listens on now (for torchrun's rendezvous)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _drop_none(value):
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_drop_none(v) for v in value]
    return value


def _find_component(example: dict | None, entry) -> dict | None:
    """The first table in ``example`` whose name (or stage kind) is the entry's."""
    names = {entry.name, entry.short_name}
    key = "kind" if entry.kind == "stage" else "name"

    def walk(node):
        if isinstance(node, dict):
            if node.get(key) in names:
                return node
            for value in node.values():
                found = walk(value)
                if found is not None:
                    return found
        elif isinstance(node, list):
            for value in node:
                found = walk(value)
                if found is not None:
                    return found
        elif isinstance(node, str) and node in names and key == "name":
            return {"name": node}
        return None

    return walk(example)
