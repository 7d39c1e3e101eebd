"""The shipped configs parse, and their arms change only what they claim to."""

from pathlib import Path

import latentzoo_sclt
import pytest
from latentzoo.config import apply_overrides
from latentzoo.experiment import load_experiment, parse_experiment

CONFIGS = sorted((Path(latentzoo_sclt.__file__).parent / "configs").glob("*/*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_config_and_every_arm_parse(path):
    experiment, raw = load_experiment(path)
    assert experiment.sweep is not None and len(experiment.sweep.seeds) >= 3
    base = {k: v for k, v in raw.items() if k != "sweep"}
    for arm, overrides in experiment.sweep.arms.items():
        run = parse_experiment(apply_overrides(base, list(overrides)), arm)
        loss = run.stages[1].config.loss
        assert loss.config.total_steps == run.stages[1].config.steps, arm  # curriculum length = K
