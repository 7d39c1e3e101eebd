"""A run killed after a mid-run checkpoint and continued with ``latentzoo run --resume`` ends
with the same final model.pt as an unbroken run: the SGLD replay buffer (a buffer of the loss
module) and the RNG state travel with the checkpoint."""

import shutil

import tomli_w
import torch
from latentzoo.cli import main


def _config(path):
    stage = {"kind": "train", "name": "train",
             "data": {"name": "gedi.toy2d", "num_train": 128, "num_test": 64},
             "model": {"name": "gedi.mlp", "hidden": [16], "projector_hidden": [16]},
             "sampler": {"name": "gedi.gaussian_views"},
             "loss": {"name": "gedi.total", "sgld_steps": 3, "buffer_size": 48, "reinit_prob": 0.2},
             "steps": 6, "batch_size": 32, "checkpoint_every": 3, "keep_checkpoints": 5, "log_every": 1}
    path.write_text(tomli_w.dumps({"name": "resume", "stages": [stage]}))
    return str(path)


def test_resumed_run_matches_an_unbroken_one(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTZOO_NO_PROGRESS", "1")
    config = _config(tmp_path / "resume.toml")
    assert main(["run", config, "--run-dir", str(tmp_path / "unbroken"), "--cpu"]) == 0
    broken = tmp_path / "broken"
    assert main(["run", config, "--run-dir", str(broken), "--cpu"]) == 0
    stage = broken / "stages" / "00-train"
    checkpoint = stage / "checkpoints" / "step-0000003"
    assert checkpoint.exists()
    # the replay buffer is part of the checkpointed module state
    state = _load(checkpoint)
    assert "loss.buffer" in state and state["loss.buffer"].shape == (48, 2)
    # undo everything after step 3, as if the run had been killed there
    (stage / "done.pt").unlink()
    shutil.rmtree(stage / "final")
    # negative control: the same resume with the replay buffer zeroed in the checkpoint
    control = tmp_path / "control"
    shutil.copytree(broken, control)
    _zero_buffer(control / "stages" / "00-train" / "checkpoints" / "step-0000003")
    assert main(["run", "--resume", str(broken), "--cpu"]) == 0
    assert main(["run", "--resume", str(control), "--cpu"]) == 0
    final = "stages/00-train/final/model.pt"
    a, b, c = (torch.load(tmp_path / run / final) for run in ("unbroken", "broken", "control"))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"{key} differs after resume"
    assert not all(torch.equal(a[key], c[key]) for key in a), "the replay buffer had no effect"


def _weights(checkpoint):
    return next(p for p in checkpoint.iterdir() if p.name.startswith(("model", "pytorch_model")))


def _load(checkpoint):
    weights = _weights(checkpoint)
    if weights.suffix == ".safetensors":
        from safetensors.torch import load_file
        return load_file(weights)
    return torch.load(weights)


def _zero_buffer(checkpoint):
    weights, state = _weights(checkpoint), _load(checkpoint)
    state["loss.buffer"] = torch.zeros_like(state["loss.buffer"])
    if weights.suffix == ".safetensors":
        from safetensors.torch import save_file
        save_file(state, weights)
    else:
        torch.save(state, weights)
