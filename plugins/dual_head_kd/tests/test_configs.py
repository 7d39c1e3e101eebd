"""Every shipped config parses, and the repro sweeps have the spec's arms at equal compute."""

from pathlib import Path

import latentzoo_dual_head_kd
import pytest
from latentzoo.config import apply_overrides, load_toml
from latentzoo.experiment import load_experiment, parse_experiment

CONFIGS = sorted((Path(latentzoo_dual_head_kd.__file__).parent / "configs").glob("**/*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_config_parses_with_every_arm(path):
    experiment, raw = load_experiment(path)
    base = {k: v for k, v in raw.items() if k != "sweep"}
    arms = experiment.sweep.arms if experiment.sweep else {"default": ()}
    steps = set()
    for name, overrides in arms.items():
        arm = parse_experiment(apply_overrides(base, list(overrides)), f"{path.name} [{name}]")
        steps.add(tuple(stage.config.steps for stage in arm.stages))
    assert len(steps) == 1, f"{path.name}: arms differ in steps (unequal compute): {steps}"


def test_main_repro_has_the_five_methods_of_the_spec():
    raw = load_toml(Path(latentzoo_dual_head_kd.__file__).parent / "configs" / "repro" / "mnist1d.toml")
    assert set(raw["sweep"]["arms"]) == {"ce", "kd", "single_head_bkl", "dhkd_no_ga", "dhkd"}
    assert len(raw["sweep"]["seeds"]) >= 3
