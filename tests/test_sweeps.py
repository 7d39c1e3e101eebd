"""Sweeps: arms x seeds expand into run directories; the report aggregates them and checks claims."""

import json
import textwrap

from latentzoo.cli import main
from latentzoo.experiment import load_experiment
from latentzoo.report import check_claim
from latentzoo.runner import expand_sweep

SWEEP = """
name = "sweep"
[[stages]]
kind = "train"
name = "net"
data = { name = "builtin.digits", train_limit = 300 }
model = { name = "builtin.mlp", hidden = [16] }
loss = "builtin.cross_entropy"
metrics = [{ name = "builtin.accuracy" }]
steps = 60
optimizer = { lr = 0.01 }
batch_size = 32

[sweep]
seeds = [0, 1]
quick_seeds = [5]
quick_overrides = ["stages[0].steps=2"]
[sweep.arms]
trained = []
untrained = ["stages[0].optimizer.lr=1e-9"]
[[sweep.claims]]
text = "training helps"
lhs = "trained:net.accuracy"
op = ">"
rhs = "untrained:net.accuracy"
[[sweep.claims]]
text = "training reaches 99.9%"
lhs = "trained:net.accuracy"
op = ">="
rhs = 0.999
"""


def test_expansion(tmp_path):
    (tmp_path / "s.toml").write_text(textwrap.dedent(SWEEP))
    experiment, _ = load_experiment(tmp_path / "s.toml")
    runs = expand_sweep(experiment)
    assert [(r.arm, r.seed) for r in runs] == [("trained", 0), ("trained", 1), ("untrained", 0), ("untrained", 1)]
    assert runs[2].overrides == ("stages[0].optimizer.lr=1e-9", "seed=0")
    quick = expand_sweep(experiment, quick=True)
    assert [(r.arm, r.seed) for r in quick] == [("trained", 5), ("untrained", 5)]
    assert "stages[0].steps=2" in quick[0].overrides


def test_axis_expansion(tmp_path):
    text = SWEEP.split("[sweep]")[0] + '[sweep]\nseeds = [0]\naxis = "stages[0].optimizer.lr"\nvalues = [0.001, 0.01]\n'
    (tmp_path / "s.toml").write_text(textwrap.dedent(text))
    experiment, _ = load_experiment(tmp_path / "s.toml")
    runs = expand_sweep(experiment)
    assert [(r.arm, r.x) for r in runs] == [("lr=0.001", 0.001), ("lr=0.01", 0.01)]
    batch = text.replace('axis = "stages[0].optimizer.lr"', 'axis = "stages[0].batch_size"').replace(
        "[0.001, 0.01]", "[32, 64]")
    (tmp_path / "b.toml").write_text(textwrap.dedent(batch))
    experiment, _ = load_experiment(tmp_path / "b.toml")
    assert expand_sweep(experiment)[0].overrides[0] == "stages[0].batch_size=32"  # an integer field


def test_run_sweep_and_report(tmp_path, capsys):
    (tmp_path / "s.toml").write_text(textwrap.dedent(SWEEP))
    parent = tmp_path / "sweep"
    assert main(["run", str(tmp_path / "s.toml"), "--run-dir", str(parent), "--cpu"]) == 0
    for arm in ("trained", "untrained"):
        for seed in (0, 1):
            assert (parent / arm / f"seed-{seed}" / "metrics.json").exists()
    report = json.loads((parent / "report.json").read_text())
    trained = report["arms"]["trained"]["metrics"]["net.accuracy"]
    assert trained["n"] == 2 and trained["mean"] > 0.5
    runs = [json.loads((parent / "trained" / f"seed-{s}" / "metrics.json").read_text())["net"]["accuracy"]
            for s in (0, 1)]
    assert abs(trained["mean"] - sum(runs) / 2) < 1e-12
    verdicts = [c["verdict"] for c in report["claims"]]
    assert verdicts[0] == "holds"
    markdown = (parent / "report.md").read_text()
    assert "| trained | 0,1 |" in markdown and "training helps" in markdown

    # resuming a finished sweep runs nothing and reports again
    assert main(["run", "--resume", str(parent), "--cpu"]) == 0
    assert main(["report", str(parent)]) == 0
    assert "training helps" in capsys.readouterr().out


def test_claims_with_scale_offset_and_missing_metrics():
    table = {"a": {"metrics": {"m": {"mean": 10.0, "std": 1.0}}}, "b": {"metrics": {"m": {"mean": 4.0, "std": 0.0}}}}
    claim = {"text": "a ≥ 2×b + 1", "lhs": "a:m", "op": ">=", "rhs": "b:m", "scale": 2.0, "offset": 1.0}
    assert check_claim(claim, table)["holds"] is True  # 10 >= 9
    claim["offset"] = 3.0
    assert check_claim(claim, table)["verdict"] == "does not hold"  # 10 < 11
    claim["lhs"] = "a:missing"
    assert check_claim(claim, table)["holds"] is None


def test_run_one_arm(tmp_path, capsys):
    (tmp_path / "s.toml").write_text(textwrap.dedent(SWEEP))
    parent = tmp_path / "one"
    assert main(["run", str(tmp_path / "s.toml"), "--run-dir", str(parent), "--cpu", "--quick",
                 "--arm", "untrained"]) == 0
    assert (parent / "untrained" / "seed-5").exists() and not (parent / "trained").exists()
    assert main(["run", str(tmp_path / "s.toml"), "--run-dir", str(tmp_path / "x"), "--arm", "traned"]) == 2
    assert "did you mean 'trained'" in capsys.readouterr().err


def test_ratio_claims():
    table = {"a": {"metrics": {"m": {"mean": 6.0, "std": 0.0}}}, "b": {"metrics": {"m": {"mean": 4.0, "std": 0.0}}}}
    claim = {"text": "a/b < 0.8", "lhs": "a:m / b:m", "op": "<", "rhs": "0.8"}
    result = check_claim(claim, table)
    assert result["lhs_value"] == 1.5 and result["verdict"] == "does not hold"
    claim = {"text": "a - b > 1", "lhs": "a:m - b:m", "op": ">", "rhs": "1"}
    assert check_claim(claim, table)["lhs_value"] == 2.0 and check_claim(claim, table)["holds"] is True
