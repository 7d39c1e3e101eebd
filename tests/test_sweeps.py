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
    assert f"{verdicts.count('holds')} of 2 claims hold." in markdown

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


REUSE = """
name = "reuse"
[[stages]]
kind = "train"
name = "teacher"
data = { name = "builtin.digits", train_limit = 300 }
model = { name = "builtin.mlp", hidden = [16] }
loss = "builtin.cross_entropy"
steps = 30
batch_size = 32

[[stages]]
kind = "train"
name = "student"
data = { name = "builtin.digits", train_limit = 300 }
model = { name = "builtin.mlp", hidden = [8] }
loss = "builtin.cross_entropy"
metrics = [{ name = "builtin.accuracy" }]
steps = 20
batch_size = 32

[[stages]]
kind = "evaluate"
name = "probe"
model = "teacher"
data = { name = "builtin.digits", train_limit = 300 }
metrics = [{ name = "builtin.knn_accuracy", k = 3 }]

[sweep]
seeds = [0, 1]
[sweep.arms]
small = []
large = ["stages[1].model.hidden=[32]"]
"""


def _stage(parent, arm, seed, index, name):
    return parent / arm / f"seed-{seed}" / "stages" / f"{index:02d}-{name}"


def test_identical_stages_are_copied_across_arms(tmp_path, capsys):
    (tmp_path / "r.toml").write_text(textwrap.dedent(REUSE))
    parent = tmp_path / "reuse"
    assert main(["run", str(tmp_path / "r.toml"), "--run-dir", str(parent), "--cpu"]) == 0
    out = capsys.readouterr().out
    for seed in (0, 1):
        # the teacher (stage 0) is the same in both arms: trained once per seed, copied into 'large'
        copied = _stage(parent, "large", seed, 0, "teacher")
        assert (copied / "reused_from.txt").read_text().strip().endswith(f"small/seed-{seed}/stages/00-teacher")
        assert (copied / "final" / "model.pt").exists() and not (copied / "checkpoints").exists()
        # the students differ; the probe follows a different student, so it is not copied either
        assert not (_stage(parent, "large", seed, 1, "student") / "reused_from.txt").exists()
        assert not (_stage(parent, "large", seed, 2, "probe") / "reused_from.txt").exists()
        assert not (_stage(parent, "small", seed, 0, "teacher") / "reused_from.txt").exists()
    assert out.count("copied") == 2
    keys = {seed: (_stage(parent, "small", seed, 0, "teacher") / "stage_key.txt").read_text() for seed in (0, 1)}
    assert keys[0] != keys[1]  # another seed is another stage

    # the copies equal what running the stage again gives (reuse is a saving, not an approximation)
    fresh = tmp_path / "fresh"
    assert main(["run", str(tmp_path / "r.toml"), "--run-dir", str(fresh), "--cpu",
                 "sweep.reuse_stages=false"]) == 0
    assert not list(fresh.glob("*/*/stages/*/reused_from.txt"))
    for seed in (0, 1):
        assert (json.loads((parent / "large" / f"seed-{seed}" / "metrics.json").read_text())
                == json.loads((fresh / "large" / f"seed-{seed}" / "metrics.json").read_text()))


def test_reuse_survives_separate_invocations(tmp_path, capsys):
    (tmp_path / "r.toml").write_text(textwrap.dedent(REUSE).replace("seeds = [0, 1]", "seeds = [0]"))
    parent = tmp_path / "arms"
    assert main(["run", str(tmp_path / "r.toml"), "--run-dir", str(parent), "--cpu", "--arm", "small"]) == 0
    # a later invocation (here a resume of the whole sweep) finds the finished teacher on disk
    assert main(["run", "--resume", str(parent), "--cpu"]) == 0
    assert (_stage(parent, "large", 0, 0, "teacher") / "reused_from.txt").exists()
    assert "copied" in capsys.readouterr().out


def test_spearman_by_hand():
    from latentzoo.report import spearman

    # no ties: 1 - 6·Σd²/(n(n²-1)) with d = (0, 1, -1, 0): 1 - 12/60
    assert abs(spearman([1, 2, 3, 4], [1, 3, 2, 4]) - 0.8) < 1e-12
    # ties take the average rank: y ranks (1.5, 1.5, 3), Pearson of ranks 1.5/√3
    assert abs(spearman([1, 2, 3], [5, 5, 9]) - 1.5 / 3 ** 0.5) < 1e-12
    assert spearman([1, 2, 3], [3, 2, 1]) == -1.0
    assert spearman([1, 2, 3], [7, 7, 7]) == 0.0


def _axis_table(values):
    return {f"infonce@temperature={x:g}": {"x": x, "metrics": {"train.u": {"mean": y, "std": 0.0}}}
            for x, y in values}


def test_trend_claims():
    table = _axis_table([(0.05, -3.0), (0.1, -2.5), (0.5, -2.6), (1.0, -1.0)])
    rises = {"text": "U rises with tau", "lhs": "infonce:train.u", "op": "increases", "rhs": 1.0}
    result = check_claim(rises, table, "stages[0].loss.temperature")
    assert result["lhs_value"] == 0.8 and result["verdict"] == "does not hold"  # one step goes down
    assert "Spearman ρ = 0.80" in result["lhs"]
    assert check_claim(rises | {"rhs": 0.8}, table, "x.temperature")["holds"] is True
    falls = rises | {"op": "decreases", "rhs": 0.5}
    assert check_claim(falls, table, "x.temperature")["holds"] is False
    assert check_claim(rises | {"lhs": "infonce:train.missing"}, table, "x.temperature")["holds"] is None
    # without arms the series is named after the axis
    table = {f"temperature={x:g}": {"x": x, "metrics": {"t.m": {"mean": -x, "std": 0.0}}} for x in (1, 2, 3)}
    assert check_claim({"text": "", "lhs": "temperature:t.m", "op": "decreases", "rhs": 1}, table,
                       "stages[0].loss.temperature")["holds"] is True


AXIS_SWEEP = SWEEP.split("[sweep]")[0] + """
[sweep]
axis = "stages[0].optimizer.lr"
values = [0.001, 0.01]
[sweep.arms]
a = []
b = []
[[sweep.claims]]
text = "t"
lhs = "a:net.accuracy"
op = ">"
rhs = "b:net.accuracy"
"""


def test_claims_naming_unknown_arms_fail_before_running(tmp_path, capsys):
    def run(text):
        (tmp_path / "c.toml").write_text(textwrap.dedent(text))
        return main(["run", str(tmp_path / "c.toml"), "--run-dir", str(tmp_path / "r"), "--cpu"])

    assert run(SWEEP.replace('lhs = "trained:net.accuracy"', 'lhs = "traind:net.accuracy"', 1)) == 2
    err = capsys.readouterr().err
    assert "sweep.claims[0]: no arm 'traind'" in err and "did you mean 'trained'" in err
    assert not (tmp_path / "r").exists()
    # with an axis, arms are 'a@lr=0.001', ...; a plain comparison must name one of those
    assert run(AXIS_SWEEP) == 2
    assert "no arm 'a'" in capsys.readouterr().err
    trend = AXIS_SWEEP.replace('op = ">"\nrhs = "b:net.accuracy"', 'op = "increases"\nrhs = 2')
    assert run(trend) == 2
    assert "a number in [-1, 1]" in capsys.readouterr().err
    assert run(trend.replace('lhs = "a:', 'lhs = "c:').replace("rhs = 2", "rhs = 0.5")) == 2
    assert "no series (arm name before '@') 'c'" in capsys.readouterr().err
    no_axis = SWEEP.replace('op = ">"\nrhs = "untrained:net.accuracy"', 'op = "increases"\nrhs = 1')
    assert run(no_axis) == 2
    assert "this sweep has no 'axis'" in capsys.readouterr().err


def test_report_keeps_the_arm_order_through_json(tmp_path):
    from latentzoo.report import to_markdown
    from latentzoo.runs import atomic_write_json

    arms = {name: {"x": None, "seeds": [0], "metrics": {"s.m": {"mean": 1.0, "std": 0.0}}}
            for name in ("method", "baseline")}
    atomic_write_json(tmp_path / "r.json", {"name": "n", "quick": False, "arms": arms,
                                            "arm_order": list(arms), "claims": [], "created": ""})
    markdown = to_markdown(json.loads((tmp_path / "r.json").read_text()))
    assert markdown.index("| method |") < markdown.index("| baseline |")  # not sorted by name


def test_reuse_across_sweeps_under_one_folder(tmp_path, capsys):
    """`latentzoo repro` runs a plugin's sweeps under one folder: a stage shared by two of them
    (same config, seed and earlier stages) runs once."""
    from latentzoo.runner import run_sweep

    first = textwrap.dedent(REUSE).replace("seeds = [0, 1]", "seeds = [0]")
    second = first.replace('name = "reuse"', 'name = "other"').replace(
        'large = ["stages[1].model.hidden=[32]"]', 'wide = ["stages[1].model.hidden=[64]"]')
    for name, text in (("first", first), ("second", second)):
        (tmp_path / f"{name}.toml").write_text(text)
        experiment, raw = load_experiment(tmp_path / f"{name}.toml")
        run_sweep(experiment, raw, tmp_path / "repro" / name, cpu=True, echo=print, reuse_from=tmp_path / "repro")
    second_run = tmp_path / "repro" / "second"
    # 'small' is the same arm in both sweeps: its teacher and student are copied, and so is the probe
    for index, stage in enumerate(("teacher", "student", "probe")):
        assert (_stage(second_run, "small", 0, index, stage) / "reused_from.txt").exists()
    assert (_stage(second_run, "wide", 0, 0, "teacher") / "reused_from.txt").exists()
    assert not (_stage(second_run, "wide", 0, 1, "student") / "reused_from.txt").exists()
