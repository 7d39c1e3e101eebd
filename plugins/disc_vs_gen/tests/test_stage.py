"""The sample-complexity stage end to end, its outputs and its config validation."""

import json

import pytest
from latentzoo.errors import ConfigError
from latentzoo.experiment import parse_experiment
from latentzoo.runner import run_experiment

SIM = {"kind": "disc_vs_gen.sample_complexity", "name": "curve",
       "data": {"name": "disc_vs_gen.gauss_sim", "classes": 3, "dim": 4, "pool_per_dim": 30,
                "num_test": 300},
       "geometric": 3, "shots": [4], "repeats": 2}


def test_simulation_stage_outputs(tmp_path):
    metrics = run_experiment(parse_experiment({"stages": [SIM]}), tmp_path / "run")["curve"]
    # grid: 2K = 6 .. min(50·4, 120) = 120 geometric (6, 27, 120) ∪ {4·3 = 12}
    assert {"nb_error_n6", "nb_error_n12", "nb_error_n27", "nb_error_n120", "lr_error_n120",
            "nb_error_shot4", "lr_error_shot4", "m_star_nb", "m_star_lr", "m_star_ratio",
            "crossover_m", "lr_not_converged"} <= set(metrics)
    assert "bayes_error" not in metrics  # K = 3: no closed form
    assert metrics["nb_error_shot4"] == metrics["nb_error_n12"]
    assert metrics["m_star_ratio"] == metrics["m_star_lr"] / metrics["m_star_nb"]
    assert all(0 <= metrics[k] <= 1 for k in metrics if "error" in k)
    stage = tmp_path / "run" / "stages" / "00-curve"
    assert (stage / "figures" / "error_vs_m.png").exists()
    curve = json.loads((stage / "curve.json").read_text())
    assert curve["m"] == [6, 12, 27, 120] and len(curve["nb_errors"][0]) == 2


def test_same_seed_same_curve(tmp_path):
    a = run_experiment(parse_experiment({"stages": [SIM]}), tmp_path / "a")
    b = run_experiment(parse_experiment({"stages": [SIM]}), tmp_path / "b")
    assert a == b


@pytest.mark.parametrize(("override", "message"), [
    ({"repeats": 0}, "repeats: must be > 0"),
    ({"preprocess": "zscore"}, "preprocess: must be one of"),
    ({"delta": -0.1}, "delta: must be >= 0"),
    ({"shots": [0]}, "shots: must be > 0"),
    ({"features": "encoder"}, "features: artifact 'encoder' is not produced by an earlier stage"),
    ({"discriminative": {"name": "disc_vs_gen.logistic_regression", "c": 0}}, "c: must be > 0"),
    ({"generative": {"name": "disc_vs_gen.pooled_gnb", "epsilon": -1}}, "epsilon: must be >= 0"),
])
def test_bad_config_names_the_field(override, message):
    with pytest.raises(ConfigError, match=message):
        parse_experiment({"stages": [SIM | override]})


def test_shipped_configs_parse_and_real_data_is_reported_missing(tmp_path):
    from pathlib import Path

    import latentzoo_disc_vs_gen
    from latentzoo.errors import UserError
    from latentzoo.experiment import load_experiment

    folder = Path(latentzoo_disc_vs_gen.__file__).parent / "configs"
    configs = sorted(folder.glob("*/*.toml"))
    assert {p.name for p in configs} >= {"simulation.toml", "frozen_features.toml", "cifar10_features.toml"}
    for path in configs:
        load_experiment(path)
    experiment, _ = load_experiment(folder / "real" / "cifar10_features.toml",
                                    [f"stages[0].data.path={tmp_path / 'absent'}"])
    # core's build() re-raises a component's MissingDataError as a plain UserError (keeps the text)
    with pytest.raises(UserError, match="stages\\[0\\].data .*does not exist.*main_extract_features"):
        run_experiment(experiment, tmp_path / "run")
