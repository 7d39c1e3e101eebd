from pathlib import Path

import latentzoo_diffusion
import pytest
from latentzoo.experiment import load_experiment

CONFIGS = sorted((Path(latentzoo_diffusion.__file__).parent / "configs").glob("*/*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_config_parses(path):
    experiment, _ = load_experiment(path)
    assert experiment.sweep is not None and len(experiment.sweep.seeds) >= 3
