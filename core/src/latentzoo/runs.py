"""Run directories: never overwritten, written atomically, resumable.

Layout of a run::

    RUN/
      config.resolved.toml   every default filled in; `latentzoo run` of it reproduces the run
      overrides.txt          the command-line overrides, one a line
      env.json               versions, git revision, seed, world size, command
      metrics.json           final metrics of every stage: {stage: {metric: value}}
      samples.png            with two or more generate stages: a row of samples per stage
      tensorboard/<stage>/   TensorBoard events (scalars, hparams, figures)
      stages/<NN>-<stage>/   checkpoints/step-NNNNNNN/, final/, figures/*.png, done.pt
                             (the stage's result), stage_key.txt (what the result depends on),
                             reused_from.txt (in a sweep, when copied from an identical stage)
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from latentzoo.errors import UserError

# ---------------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------------


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to ``path.tmp``, fsync, rename over ``path``: a reader sees old or new, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def fsync_tree(path: Path) -> None:
    for root, _dirs, files in os.walk(path):
        for name in files:
            with open(Path(root) / name, "rb") as handle:
                os.fsync(handle.fileno())
        fsync_dir(Path(root))


# ---------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------

CHECKPOINT_PREFIX = "step-"


def checkpoint_name(step: int) -> str:
    return f"{CHECKPOINT_PREFIX}{step:07d}"


def list_checkpoints(directory: Path) -> list[Path]:
    """Complete checkpoints (renamed into place), oldest first."""
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if p.is_dir() and p.name.startswith(CHECKPOINT_PREFIX)]
    return sorted(found, key=lambda p: int(p.name[len(CHECKPOINT_PREFIX):]))


def latest_checkpoint(directory: Path) -> Path | None:
    checkpoints = list_checkpoints(directory)
    return checkpoints[-1] if checkpoints else None


def save_checkpoint(accelerator, directory: Path, step: int, keep: int) -> Path:
    """``accelerator.save_state`` into a temporary folder on every rank, then rename it into place."""
    final = directory / checkpoint_name(step)
    tmp = directory / f".tmp-{checkpoint_name(step)}"
    if accelerator.is_main_process:
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        fsync_tree(tmp)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        fsync_dir(directory)
        for old in list_checkpoints(directory)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


# ---------------------------------------------------------------------------------------------
# The run directory
# ---------------------------------------------------------------------------------------------

RESOLVED_CONFIG = "config.resolved.toml"


def _git_revision() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True,
                           timeout=5, check=False).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def environment_record(seed: int, world_size: int) -> dict[str, Any]:
    packages = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and (name.startswith("latentzoo") or name in (
                "torch", "accelerate", "numpy", "scikit-learn", "attrs", "cattrs", "pluggy",
                "POT", "einops", "scipy", "mnist1d", "matplotlib")):
            packages[name] = dist.version
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": dict(sorted(packages.items())),
        "git_revision": _git_revision(),
        "seed": seed,
        "world_size": world_size,
        "command": sys.argv,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def new_run_dir(root: str | Path, name: str) -> Path:
    """A fresh ``root/name-YYYYmmdd-HHMMSS[-k]`` that does not exist yet."""
    root = Path(root)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = root / f"{name}-{stamp}"
    k = 1
    while candidate.exists():
        k += 1
        candidate = root / f"{name}-{stamp}-{k}"
    return candidate


def claim_run_dir(path: Path) -> Path:
    """Create ``path`` for a new run; refuse one that exists and is not empty."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UserError(
            f"run directory {path} already exists and is not empty; runs are never overwritten: "
            f"choose another --run-dir, or continue it with: latentzoo run --resume {path}")
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_metrics(run_dir: Path) -> dict[str, dict[str, float]]:
    path = Path(run_dir) / "metrics.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text())
