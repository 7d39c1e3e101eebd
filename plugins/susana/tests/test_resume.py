"""A killed episodic run resumed from its checkpoint ends where an unbroken run ends: the
sampler draws from the global torch RNG, which the checkpoint stores."""

import shutil

import torch

from latentzoo.experiment import parse_experiment
from latentzoo.runner import run_experiment

EXPERIMENT = {"name": "resume", "stages": [{
    "kind": "train", "name": "train", "data": {"name": "susana.digits_fewshot"},
    "model": {"name": "susana.protonet", "channels": 8},
    "sampler": {"name": "susana.episodic", "way": 3, "shot": 1, "query": 3},
    "loss": {"name": "susana.combined"}, "steps": 4, "batch_size": 1, "checkpoint_every": 2,
}]}


def final_weights(run_dir):
    return torch.load(run_dir / "stages" / "00-train" / "final" / "model.pt", weights_only=True)


def test_resumed_run_matches_unbroken_run(tmp_path):
    experiment = parse_experiment(EXPERIMENT, "resume")
    run_experiment(experiment, tmp_path / "a", cpu=True)
    unbroken = final_weights(tmp_path / "a")
    # "kill" after the step-2 checkpoint: drop everything written after it, then resume
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    stage = tmp_path / "b" / "stages" / "00-train"
    (stage / "done.pt").unlink()
    shutil.rmtree(stage / "final")
    assert sorted(p.name for p in (stage / "checkpoints").iterdir())  # the step-2 checkpoint
    run_experiment(experiment, tmp_path / "b", resume=True, cpu=True)
    resumed = final_weights(tmp_path / "b")
    assert all(torch.equal(unbroken[k], resumed[k]) for k in unbroken)
