"""The shipped configs parse, and the reproduction sweeps compare arms at equal compute."""

from pathlib import Path

import pytest
from latentzoo.experiment import load_experiment

CONFIGS = Path(__file__).parents[1] / "src" / "latentzoo_gedi" / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*/*.toml")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_config_parses_with_every_arm(path):
    experiment, _ = load_experiment(path)
    assert experiment.sweep is not None and len(experiment.sweep.seeds) >= 3
    for arm, overrides in experiment.sweep.arms.items():
        armed, _ = load_experiment(path, list(overrides))
        train = armed.stages[0].config
        base = experiment.stages[0].config
        # equal compute: same steps, batch, optimiser and network in every arm
        assert (train.steps, train.batch_size, train.optimizer, train.model) == (
            base.steps, base.batch_size, base.optimizer, base.model), arm


def test_repro_arms_are_the_specs_ablations():
    experiment, _ = load_experiment(CONFIGS / "repro" / "moons.toml")
    arms = {name: load_experiment(CONFIGS / "repro" / "moons.toml", list(o))[0].stages[0].config.loss.config
            for name, o in experiment.sweep.arms.items()}
    assert (arms["gedi"].gen_weight, arms["gedi"].prior_weight, arms["gedi"].beta) == (1.0, 0.5, 0.1)
    assert (arms["nogen"].gen_weight, arms["nogen"].prior_weight, arms["nogen"].beta) == (0.0, 0.5, 0.1)
    assert (arms["inv_only"].gen_weight, arms["inv_only"].prior_weight) == (0.0, 0.0) and arms["inv_only"].beta > 0
    assert (arms["ebm_only"].gen_weight, arms["ebm_only"].prior_weight, arms["ebm_only"].beta) == (1.0, 0.0, 0.0)


TINY = {"digits.toml": [], "shapes.toml": ["stages[0].data.num_train=256", "stages[1].data.num_train=256",
                                           "stages[0].data.num_test=64", "stages[1].data.num_test=64"]}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_real_config_runs_two_steps(name, tmp_path):
    import attrs
    from latentzoo.runner import run_experiment

    overrides = ["stages[0].steps=2", "stages[0].loss.sgld_steps=2", "stages[0].loss.buffer_size=256",
                 "stages[0].checkpoint_every=0", *TINY[name]]
    experiment, _ = load_experiment(CONFIGS / "real" / name, overrides)
    metrics = run_experiment(attrs.evolve(experiment, sweep=None), tmp_path / "run", cpu=True)
    assert 0.0 <= metrics["eval"]["nmi"] <= 1.0
