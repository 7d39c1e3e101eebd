"""Every shipped config parses; the real-scale config fails clearly without its data."""

from pathlib import Path

import pytest

import latentzoo_susana
from latentzoo.build import BuildContext, build
from latentzoo.errors import MissingDataError
from latentzoo.experiment import load_experiment

CONFIGS = sorted((Path(latentzoo_susana.__file__).parent / "configs").rglob("*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_config_parses(path):
    experiment, _ = load_experiment(path)
    assert experiment.stages


def test_real_config_without_data_says_how_to_prepare_it():
    experiment, _ = load_experiment(next(p for p in CONFIGS if p.parent.name == "real"))
    with pytest.raises(MissingDataError, match="miniImageNet"):
        build(experiment.stages[0].config.data, BuildContext())
