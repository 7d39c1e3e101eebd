"""Two CPU processes (torchrun, gloo): identical parameters on both ranks, and metrics gathered
over a test split whose size is not a multiple of world size x batch size equal 1-process values."""

import json
import sys
import textwrap

import torch
from accelerate import Accelerator
from latentzoo.build import BuildContext, build
from latentzoo.config import DataSpec, MetricSpec, structure
from latentzoo.evaluation import Evaluator
from latentzoo.testing import free_port

CONFIG = """
name = "ddp"
seed = 1

[[stages]]
kind = "train"
name = "net"
data = { name = "builtin.digits" }
model = { name = "builtin.mlp", hidden = [32, 16], dropout = 0.1 }
loss = "builtin.cross_entropy"
steps = 25
batch_size = 16
checkpoint_every = 10

[[stages]]
kind = "testplug.dump_params"
name = "dump"
model = "net"

[[stages]]
kind = "evaluate"
name = "eval"
model = "net"
data = { name = "builtin.digits" }
batch_size = 100
metrics = [{ name = "builtin.accuracy" }, { name = "builtin.knn_accuracy", k = 5 },
           { name = "builtin.linear_probe", max_iter = 200 }]
"""


def torchrun_cli() -> list[str]:
    """``latentzoo`` started in 2 CPU processes by torchrun."""
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
            "--master_port", str(free_port()), "-m", "latentzoo.cli"]


def test_two_processes(tmp_path, lz):
    config = tmp_path / "ddp.toml"
    config.write_text(textwrap.dedent(CONFIG))
    run_dir = tmp_path / "run"
    launcher = torchrun_cli()
    lz("run", config, "--run-dir", run_dir, "--cpu", launcher=launcher, check=True, timeout=600)

    env = json.loads((run_dir / "env.json").read_text())
    assert env["world_size"] == 2
    dump = run_dir / "stages" / "01-dump"
    rank0 = torch.load(dump / "params-rank0.pt", weights_only=True)
    rank1 = torch.load(dump / "params-rank1.pt", weights_only=True)
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), f"{key} differs between ranks"

    # The same model evaluated in one process gives the same gathered metrics.
    digits = build(structure({"name": "builtin.digits"}, DataSpec), BuildContext())
    test_size = digits.size("test")
    assert test_size % (2 * 100) != 0  # uneven: padding and reordering are exercised
    model = torch.load(run_dir / "stages" / "00-net" / "done.pt", weights_only=False)["model"]
    evaluator = Evaluator(Accelerator(cpu=True), model=model, data=digits, batch_size=100)
    single = {}
    for spec in ({"name": "builtin.accuracy"}, {"name": "builtin.knn_accuracy", "k": 5},
                 {"name": "builtin.linear_probe", "max_iter": 200}):
        single.update(build(structure(spec, MetricSpec), BuildContext())(evaluator))
    distributed = json.loads((run_dir / "metrics.json").read_text())["eval"]
    assert distributed == single


SWEEP = """
name = "ddp-sweep"
[[stages]]
kind = "train"
name = "teacher"
data = { name = "builtin.digits", train_limit = 200 }
model = { name = "builtin.mlp", hidden = [16] }
loss = "builtin.cross_entropy"
steps = 10
batch_size = 16

[[stages]]
kind = "evaluate"
name = "eval"
model = "teacher"
data = { name = "builtin.digits", train_limit = 200 }
metrics = [{ name = "builtin.accuracy" }]

[sweep]
seeds = [0]
[sweep.arms]
a = []
b = ["stages[1].batch_size=50"]
"""


def test_two_process_sweep_copies_shared_stages(tmp_path, lz):
    """Every rank takes the same branch when a stage is copied (a mismatch would hang at a barrier)."""
    config = tmp_path / "sweep.toml"
    config.write_text(textwrap.dedent(SWEEP))
    parent = tmp_path / "sweep"
    launcher = torchrun_cli()
    lz("run", config, "--run-dir", parent, "--cpu", launcher=launcher, check=True, timeout=600)
    assert (parent / "b" / "seed-0" / "stages" / "00-teacher" / "reused_from.txt").exists()
    metrics = {arm: json.loads((parent / arm / "seed-0" / "metrics.json").read_text()) for arm in "ab"}
    assert metrics["a"] == metrics["b"]  # the same teacher, evaluated with another batch size
