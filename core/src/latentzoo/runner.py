"""Running experiments: one run directory per run, sweeps as a folder of runs, resume."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import attrs

from latentzoo.config import apply_overrides, to_toml
from latentzoo.errors import UserError
from latentzoo.experiment import Experiment, config_hash, load_experiment, parse_experiment
from latentzoo.plugins import get_registry
from latentzoo.runs import (
    RESOLVED_CONFIG,
    atomic_torch_save,
    atomic_write_json,
    atomic_write_text,
    claim_run_dir,
    environment_record,
    new_run_dir,
)

DONE = "done.pt"
SWEEP_FILE = "sweep.json"
STAGE_KEY = "stage_key.txt"
REUSED_FROM = "reused_from.txt"


def _partial_state(cpu: bool):
    from accelerate.state import PartialState

    return PartialState(cpu=cpu)


def _broadcast(value: Any) -> Any:
    """Rank 0's ``value`` on every process."""
    from accelerate.state import PartialState
    from accelerate.utils import broadcast_object_list

    if PartialState().num_processes == 1:
        return value
    box = [value]
    broadcast_object_list(box, from_process=0)
    return box[0]


def stage_dir(run_dir: Path, index: int, name: str) -> Path:
    return run_dir / "stages" / f"{index:02d}-{name}"


def stage_seed(experiment: Experiment, index: int) -> int:
    config = experiment.stages[index].config
    return config.seed if config.seed >= 0 else experiment.seed + index


def stage_keys(experiment: Experiment, world_size: int = 1) -> list[str]:
    """For each stage, a hash of what its result depends on: its own config and seed, the number
    of processes (batch sizes are per process), and the keys of every stage before it (a stage
    may read any earlier stage's artifacts)."""
    from latentzoo.config import unstructure

    keys, previous = [], f"world size {world_size}"
    for index, spec in enumerate(experiment.stages):
        text = json.dumps(unstructure(spec), sort_keys=True, default=str)
        previous = hashlib.sha256(f"{previous}\n{stage_seed(experiment, index)}\n{text}".encode()).hexdigest()
        keys.append(previous)
    return keys


def _copy_stage(source: Path, target: Path) -> None:
    """Copy a finished stage's folder (not its intermediate checkpoints); ``done.pt`` last, so an
    interrupted copy is not taken for a finished stage."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("checkpoints", DONE, REUSED_FROM),
                    dirs_exist_ok=True)
    atomic_write_text(target / REUSED_FROM, f"{os.path.relpath(source, target)}\n")
    temporary = target / f".{DONE}.tmp"
    shutil.copyfile(source / DONE, temporary)
    os.replace(temporary, target / DONE)


def finished_stages(parent: Path) -> dict[str, Path]:
    """Stage key -> folder, for every finished stage of the runs anywhere under ``parent``."""
    found: dict[str, Path] = {}
    for key_file in sorted(Path(parent).rglob(STAGE_KEY)):
        if (key_file.parent / DONE).exists():
            found.setdefault(key_file.read_text().strip(), key_file.parent)
    return found


def _flat_hparams(experiment: Experiment) -> dict[str, Any]:
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else key, sub)
        elif isinstance(value, (int, float, str, bool)):
            flat[prefix] = value

    from latentzoo.config import unstructure

    walk("", {k: v for k, v in unstructure(experiment).items() if k not in ("stages", "sweep")})
    for index, spec in enumerate(unstructure(experiment)["stages"]):
        walk(f"stages[{index}]", spec)
    return flat


def run_experiment(experiment: Experiment, run_dir: Path, overrides=(), *, resume: bool = False,
                   cpu: bool = False, reuse: dict[str, Path] | None = None,
                   echo=print) -> dict[str, dict[str, float]]:
    """Run every stage of ``experiment`` in ``run_dir``; stages already done are loaded.

    ``reuse`` maps stage keys (:func:`stage_keys`) to finished stage folders: a stage whose key is
    there is copied instead of run, and every stage run here is added to it.
    """
    import torch
    from accelerate.utils import set_seed

    from latentzoo.stages import StageContext, StageResult

    state = _partial_state(cpu)
    run_dir = Path(run_dir)
    resolved = to_toml(experiment)
    if not resume:
        if state.is_main_process:
            claim_run_dir(run_dir)
            atomic_write_text(run_dir / RESOLVED_CONFIG, resolved)
            atomic_write_text(run_dir / "overrides.txt", "".join(f"{o}\n" for o in overrides))
            atomic_write_json(run_dir / "env.json",
                              environment_record(experiment.seed, state.num_processes))
        state.wait_for_everyone()
    else:
        check_resumable(run_dir, experiment)

    registry = get_registry()
    results: dict[str, StageResult] = {}
    metrics: dict[str, dict[str, float]] = {}
    keys = stage_keys(experiment, state.num_processes)
    for index, spec in enumerate(experiment.stages):
        name = spec.config.name
        directory = stage_dir(run_dir, index, name)
        done = directory / DONE
        source = (reuse or {}).get(keys[index])
        if source is not None and source != directory:  # the same on every rank
            if state.is_main_process and not done.exists():
                _copy_stage(source, directory)
                echo(f"  stage '{name}': same config, seed and earlier stages as {source}; copied")
            state.wait_for_everyone()
        if done.exists():
            try:
                saved = torch.load(done, map_location="cpu", weights_only=False)
            except Exception as error:  # noqa: BLE001
                raise UserError(f"stage '{name}' of {run_dir} is marked done but {done} cannot be "
                                f"read ({error}); delete {done} to run the stage again") from error
            results[name] = StageResult(name, model=saved["model"], metrics=saved["metrics"],
                                        samples=saved.get("samples"), reference=saved.get("reference"))
            metrics[name] = saved["metrics"]
            continue
        directory.mkdir(parents=True, exist_ok=True)
        seed = stage_seed(experiment, index)
        # device-specific seed (as set_seed(device_specific=True)): ranks draw different noise
        set_seed(seed + state.process_index)
        writer = None
        if state.is_main_process:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(run_dir / "tensorboard" / name))
        ctx = StageContext(index=index, seed=seed, run_dir=run_dir,
                           stage_dir=directory, results=results, cpu=cpu, writer=writer)
        procedure = registry.get("stage", spec.name).load_target()
        try:
            result = procedure(spec.config, ctx)
        finally:
            if writer is not None:
                writer.flush()
        if not isinstance(result, StageResult):
            raise UserError(f"stage kind '{spec.name}' returned {type(result).__name__}, "
                            "not a StageResult")
        results[name] = result
        metrics[name] = dict(result.metrics)
        if state.is_main_process:
            model = result.model
            if model is not None:
                from accelerate.utils import extract_model_from_parallel

                model = extract_model_from_parallel(model)
            atomic_write_text(directory / STAGE_KEY, f"{keys[index]}\n")
            atomic_torch_save({"model": model, "metrics": result.metrics,
                               "samples": result.samples, "reference": result.reference}, done)
            atomic_write_json(run_dir / "metrics.json", metrics)
            if writer is not None:
                hparams = {k: v for k, v in _flat_hparams(experiment).items()
                           if k.startswith(f"stages[{index}]") or not k.startswith("stages")}
                scalars = {f"hparam/{k}": v for k, v in result.metrics.items()}
                if scalars:
                    writer.add_hparams(hparams, scalars, run_name="hparams")
                writer.close()
        if reuse is not None:
            reuse.setdefault(keys[index], directory)
        state.wait_for_everyone()
    if state.is_main_process:
        atomic_write_json(run_dir / "metrics.json", metrics)
        _write_samples_by_stage(run_dir, results)
    return metrics


def _write_samples_by_stage(run_dir: Path, results) -> None:
    """``samples.png``: a row per generate stage, when a run has two or more (see
    :func:`latentzoo.stages.samples_by_stage_figure`)."""
    from latentzoo.stages import samples_by_stage_figure

    references = [result.reference for result in results.values() if result.reference is not None]
    figure = samples_by_stage_figure({name: result.samples for name, result in results.items()
                                      if result.samples is not None},
                                     reference=references[0] if references else None)
    if figure is None:
        return
    import matplotlib.pyplot as plt

    temporary = run_dir / ".samples.png.tmp"
    figure.savefig(temporary, dpi=110, bbox_inches="tight", format="png")
    plt.close(figure)
    os.replace(temporary, run_dir / "samples.png")


def check_resumable(run_dir: Path, experiment: Experiment | None = None) -> Experiment:
    """The run's own experiment, refusing a resume whose config differs from it."""
    path = Path(run_dir) / RESOLVED_CONFIG
    if not path.exists():
        raise UserError(f"cannot resume {run_dir}: it has no {RESOLVED_CONFIG} (not a run directory?)")
    stored, _ = load_experiment(path)
    if experiment is not None and config_hash(stored) != config_hash(experiment):
        import difflib

        diff = "\n".join(difflib.unified_diff(to_toml(stored).splitlines(),
                                              to_toml(experiment).splitlines(),
                                              "run's config", "given config", lineterm="", n=0))
        raise UserError(f"refusing to resume {run_dir}: the config differs from the run's own "
                        f"config. Resume without a config file (latentzoo run --resume {run_dir}), "
                        f"or start a new run. Differences:\n{diff}")
    return stored


# ---------------------------------------------------------------------------------------------
# Sweeps
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class SweepRun:
    arm: str
    seed: int
    overrides: tuple[str, ...]
    x: float | None = None

    @property
    def path(self) -> str:
        return f"{self.arm}/seed-{self.seed}"


def _toml_number(value: float) -> str:
    """``32.0`` as ``32`` (valid for integer and float fields alike), else ``repr``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def expand_sweep(experiment: Experiment, quick: bool = False) -> list[SweepRun]:
    sweep = experiment.sweep
    if sweep is None:
        return [SweepRun("default", experiment.seed, ())]
    arms = dict(sweep.arms) or {"default": ()}
    seeds = sweep.quick_seeds if quick else sweep.seeds
    extra = tuple(sweep.quick_overrides) if quick else ()
    runs = []
    for arm, overrides in arms.items():
        points: list[tuple[str, tuple[str, ...], float | None]] = [(arm, tuple(overrides), None)]
        if sweep.axis:
            leaf = sweep.axis.rsplit(".", 1)[-1]
            points = [((f"{arm}@" if len(arms) > 1 or arm != "default" else "") + f"{leaf}={value:g}",
                       (*overrides, f"{sweep.axis}={_toml_number(value)}"), float(value))
                      for value in (sweep.quick_values if quick and sweep.quick_values else sweep.values)]
        for name, arm_overrides, x in points:
            for seed in seeds:
                runs.append(SweepRun(name, seed, (*arm_overrides, *extra, f"seed={seed}"), x))
    return runs


def check_claims(experiment: Experiment, source: str = "config") -> None:
    """Every arm a claim names exists (a misspelt arm would otherwise read 'not measured' only at
    the end of a long sweep); a trend's threshold is a correlation."""
    sweep = experiment.sweep
    if sweep is None:
        return
    from latentzoo.errors import ConfigError, did_you_mean
    from latentzoo.report import series_name

    names = {run.arm for run in expand_sweep(experiment)}
    series = {series_name(name, sweep.axis) for name in names if sweep.axis}
    for index, claim in enumerate(sweep.claims):
        where = f"{source}: sweep.claims[{index}]"
        trend = claim.op in ("increases", "decreases")
        if trend:
            try:
                threshold = float(claim.rhs)
            except ValueError:
                threshold = float("nan")
            if not -1 <= threshold <= 1:
                raise ConfigError(f"{where}.rhs: expected the least Spearman correlation, a number in "
                                  f"[-1, 1] (1: strictly monotone), got {claim.rhs!r}")
            if not sweep.axis:
                raise ConfigError(f"{where}.op: '{claim.op}' is a trend along the sweep's axis, and "
                                  "this sweep has no 'axis'")
        sides = [claim.lhs] if trend else [claim.lhs, claim.rhs]
        for side in sides:
            if not isinstance(side, str):
                continue
            for part in side.replace(" / ", " - ").split(" - "):
                arm, colon, _ = part.strip().partition(":")
                known = series if trend else names
                if colon and arm.strip() not in known:
                    kind = "series (arm name before '@')" if trend else "arm"
                    raise ConfigError(f"{where}: no {kind} '{arm.strip()}' in this sweep"
                                      f"{did_you_mean(arm.strip(), sorted(known))}; "
                                      f"{kind}s: {', '.join(sorted(known))}")


def run_sweep(experiment: Experiment, raw: dict, parent: Path, overrides=(), *, quick: bool = False,
              resume: bool = False, cpu: bool = False, echo=print, arms=(),
              reuse_from: Path | None = None) -> Path:
    """Run every (arm, seed) of the experiment's sweep under ``parent`` and write the report.

    ``arms`` keeps only the named arms (``latentzoo run --arm NAME``). Finished stages anywhere
    under ``reuse_from`` (default ``parent``) can be copied instead of run: ``latentzoo repro``
    passes the folder of all of a plugin's sweeps.
    """
    from latentzoo.report import write_report

    check_claims(experiment, experiment.name)
    state = _partial_state(cpu)
    runs = expand_sweep(experiment, quick)
    if arms:
        known = sorted({run.arm for run in runs})
        unknown = [arm for arm in arms if arm not in known]
        if unknown:
            from latentzoo.errors import did_you_mean

            raise UserError(f"--arm {unknown[0]}: the sweep has no such arm{did_you_mean(unknown[0], known)}; "
                            f"arms: {', '.join(known)}")
        runs = [run for run in runs if run.arm in arms]
    if state.is_main_process:
        if not resume:
            claim_run_dir(parent)
            atomic_write_text(parent / RESOLVED_CONFIG, to_toml(experiment))
            atomic_write_text(parent / "overrides.txt", "".join(f"{o}\n" for o in overrides))
        atomic_write_json(parent / SWEEP_FILE, {
            "name": experiment.name,
            "quick": quick,
            "axis": experiment.sweep.axis if experiment.sweep else "",
            "runs": [attrs.asdict(r) | {"path": r.path} for r in runs],
            "claims": [attrs.asdict(c) for c in experiment.sweep.claims] if experiment.sweep else [],
            "base_config": raw,
        })
    state.wait_for_everyone()
    base = {k: v for k, v in raw.items() if k != "sweep"}
    reuse = _broadcast(finished_stages(reuse_from or parent)
                       if experiment.sweep is None or experiment.sweep.reuse_stages else None)
    for number, run in enumerate(runs, 1):
        run_dir = parent / run.path
        # decided on rank 0 for every rank: another rank may look only after rank 0 has started
        # writing this run (a rank that saw the config as a resume would skip a barrier)
        done, started = _broadcast(((run_dir / "metrics.json").exists() and _all_done(run_dir),
                                    (run_dir / RESOLVED_CONFIG).exists()))
        if done:
            continue
        run_raw = apply_overrides(base, list(run.overrides))
        run_experiment_ = parse_experiment(run_raw, f"{experiment.name} [{run.arm}, seed {run.seed}]",
                                           run.overrides)
        if state.is_main_process:
            echo(f"[{number}/{len(runs)}] {run.arm} seed {run.seed} -> {run_dir}")
        run_experiment(run_experiment_, run_dir, run.overrides, resume=started, cpu=cpu, reuse=reuse,
                       echo=echo if state.is_main_process else lambda *_: None)
    if state.is_main_process:
        write_report(parent)
    state.wait_for_everyone()
    return parent


def _all_done(run_dir: Path) -> bool:
    experiment, _ = load_experiment(run_dir / RESOLVED_CONFIG)
    return all((stage_dir(run_dir, i, s.config.name) / DONE).exists()
               for i, s in enumerate(experiment.stages))


def start(config: str | None, overrides, *, run_dir: str | None = None, resume: str | None = None,
          quick: bool = False, cpu: bool = False, echo=print, arms=()) -> Path:
    """What ``latentzoo run`` does: a single run, a sweep, or the continuation of either."""
    if resume:
        path = Path(resume)
        if not path.is_dir():
            raise UserError(f"cannot resume {path}: no such directory")
        stored = check_resumable(path)
        if config is not None:
            given, _ = load_experiment(config, overrides)
            check_resumable(path, given)
        sweep_file = path / SWEEP_FILE
        if sweep_file.exists():
            recorded = json.loads(sweep_file.read_text())
            quick, raw = recorded.get("quick", False), recorded["base_config"]
            return run_sweep(stored, raw, path, quick=quick, resume=True, cpu=cpu, echo=echo)
        run_experiment(stored, path, resume=True, cpu=cpu)
        return path
    if config is None:
        raise UserError("latentzoo run needs a config file, or --resume DIR")
    experiment, raw = load_experiment(config, overrides)
    _partial_state(cpu)
    target = Path(run_dir) if run_dir else _broadcast(
        new_run_dir(Path(os.environ.get("LATENTZOO_RUNS_DIR", experiment.runs_dir)), experiment.name))
    if experiment.sweep is not None:
        return run_sweep(experiment, raw, target, overrides, quick=quick, cpu=cpu, echo=echo, arms=arms)
    if quick or arms:
        raise UserError("--quick and --arm apply to sweeps (a config with a [sweep] table)")
    run_experiment(experiment, target, overrides, cpu=cpu)
    return target
