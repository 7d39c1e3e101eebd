"""Composition, overrides, defaults and round-trips of configs."""

import textwrap
import tomllib

import pytest
from latentzoo.cli import main
from latentzoo.config import apply_override, deep_merge, parse_path, parse_value
from latentzoo.errors import ConfigError
from latentzoo.experiment import load_experiment


def test_deep_merge_tables_merge_and_arrays_replace():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    top = {"a": {"c": [3]}, "e": 2}
    assert deep_merge(base, top) == {"a": {"b": 1, "c": [3]}, "d": 1, "e": 2}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}  # inputs untouched


def test_paths_and_values():
    assert parse_path("stages[1].loss.c") == ["stages", 1, "loss", "c"]
    assert parse_path("stages.1.loss.c") == ["stages", 1, "loss", "c"]
    assert parse_value("3") == 3 and parse_value("1e-3") == 1e-3 and parse_value("true") is True
    assert parse_value("[1, 2]") == [1, 2] and parse_value('"a b"') == "a b"
    assert parse_value("builtin.mlp") == "builtin.mlp"  # not TOML: taken as a string
    with pytest.raises(ConfigError, match="malformed"):
        parse_path("stages[x]")


def test_override_creates_nested_tables_and_sets_list_items():
    data = {"stages": [{"loss": {"name": "a"}}]}
    out = apply_override(data, "stages[0].loss.c=2.5")
    assert out["stages"][0]["loss"] == {"name": "a", "c": 2.5}
    assert data["stages"][0]["loss"] == {"name": "a"}


def test_include_is_relative_to_including_file_and_deep_merged(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "common.toml").write_text(textwrap.dedent("""
        name = "base"
        seed = 3
        [[stages]]
        kind = "train"
        data = { name = "builtin.digits" }
        model = { name = "builtin.mlp" }
        loss = { name = "builtin.cross_entropy" }
        """))
    (tmp_path / "exp.toml").write_text('include = ["base/common.toml"]\nname = "child"\n')
    experiment, _ = load_experiment(tmp_path / "exp.toml", ["stages[0].steps=7"])
    assert experiment.name == "child" and experiment.seed == 3
    assert experiment.stages[0].config.steps == 7
    assert experiment.stages[0].name == "builtin.train"  # short names resolve to full names


@pytest.mark.parametrize("config", ["configs/quickstart.toml", "configs/encoder_probe.toml"])
def test_resolved_config_round_trips(config, tmp_path, capsys):
    assert main(["config", config]) == 0
    first = capsys.readouterr().out
    data = tomllib.loads(first)
    assert data["stages"][0]["optimizer"]["betas"] == [0.9, 0.999]  # defaults are filled in
    (tmp_path / "resolved.toml").write_text(first)
    assert main(["config", str(tmp_path / "resolved.toml")]) == 0
    assert capsys.readouterr().out == first


def test_shorthand_component_and_override_parsed_as_toml(capsys):
    assert main(["config", "configs/quickstart.toml", "stages[0].loss=builtin.mse",
                 "stages[0].optimizer.lr=0.5"]) == 0
    data = tomllib.loads(capsys.readouterr().out)
    assert data["stages"][0]["loss"] == {"name": "builtin.mse", "target": "y"}
    assert data["stages"][0]["optimizer"]["lr"] == 0.5
