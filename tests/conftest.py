import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("LATENTZOO_NO_PROGRESS", "1")

ROOT = Path(__file__).resolve().parents[1]

TESTPLUG = '''
"""Components the core's tests need (installed only for the tests, via PYTHONPATH)."""
import time

import attrs
import torch
import torch.nn.functional as F

from latentzoo import hookimpl, option
from latentzoo.experiment import StageConfig
from latentzoo.stages import StageResult


@attrs.frozen
class SlowConfig:
    delay: float = option(0.0, "seconds to sleep per step", ge=0)
    nan_at: int = option(0, "return NaN from this call on (0: never)", ge=0)


class SlowCrossEntropy(torch.nn.Module):
    def __init__(self, config, ctx):
        super().__init__()
        self.config = config
        self.calls = 0

    def forward(self, model, batch):
        self.calls += 1
        if self.config.delay:
            time.sleep(self.config.delay)
        loss = F.cross_entropy(model(batch["x"]), batch["y"])
        if self.config.nan_at and self.calls >= self.config.nan_at:
            loss = loss * float("nan")
        return loss


@attrs.frozen
class DumpConfig(StageConfig):
    model: str = option("", "stage whose parameters are written, one file per rank")


def dump_params(config, ctx):
    from accelerate.state import PartialState

    state = PartialState()
    model = ctx.model_of(config.model)
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()},
               ctx.stage_dir / f"params-rank{state.process_index}.pt")
    state.wait_for_everyone()
    return StageResult(config.name)


@hookimpl
def latentzoo_register_losses(register):
    register("slow_ce", "testplug:SlowCrossEntropy", config="testplug:SlowConfig")


@hookimpl
def latentzoo_register_stages(register):
    register("dump_params", "testplug:dump_params", config="testplug:DumpConfig")
'''


@pytest.fixture(scope="session")
def testplug_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("testplug")
    (root / "testplug.py").write_text(TESTPLUG)
    info = root / "latentzoo_testplug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: latentzoo-testplug\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[latentzoo]\ntestplug = testplug\n")
    return root


@pytest.fixture
def lz(testplug_site):
    """Run the latentzoo CLI in a subprocess with the test plugin installed."""

    def run(*args, launcher=None, check=False, timeout=300, **popen):
        env = dict(os.environ, PYTHONPATH=f"{testplug_site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
                   OMP_NUM_THREADS="1", LATENTZOO_NO_PROGRESS="1")
        command = (launcher or [sys.executable, "-m", "latentzoo.cli"]) + [str(a) for a in args]
        if popen.pop("background", False):
            return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, cwd=popen.get("cwd"))
        out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, **popen)
        if check and out.returncode != 0:
            raise AssertionError(f"{command} failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
        return out

    return run


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path
