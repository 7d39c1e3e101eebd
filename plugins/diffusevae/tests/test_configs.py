"""Shipped configs parse; the real-scale one stops with a clear message when CIFAR-10 is absent."""

from pathlib import Path

import latentzoo_diffusevae
import pytest
from latentzoo.errors import MissingDataError
from latentzoo.experiment import load_experiment

CONFIGS = sorted((Path(latentzoo_diffusevae.__file__).parent / "configs").rglob("*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_parses(path):
    experiment, _ = load_experiment(path)
    names = [spec.config.name for spec in experiment.stages]
    assert names[:2] == ["vae", "denoiser"]


def test_repro_arms_differ_only_in_the_form():
    experiment, _ = load_experiment(next(p for p in CONFIGS if p.name == "digits.toml"))
    arms = dict(experiment.sweep.arms)
    assert arms == {"uncond": ("stages[1].model.form=none",), "form1": (),
                    "form2": ("stages[1].model.form=form2",)}
    assert len(experiment.sweep.seeds) >= 3
    # every arm draws the same number of samples in every generate stage
    counts = {spec.config.num_samples for spec in experiment.stages if spec.name == "builtin.generate"}
    assert counts == {297}


def test_real_config_without_data_is_a_missing_data_error(tmp_path, monkeypatch):
    from latentzoo.build import BuildContext, build

    monkeypatch.chdir(tmp_path)
    experiment, _ = load_experiment(next(p for p in CONFIGS if p.name == "cifar10.toml"))
    with pytest.raises(MissingDataError, match="download"):
        build(experiment.stages[0].config.data, BuildContext())
