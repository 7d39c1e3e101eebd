"""Run directories, resume after SIGKILL (bit-exact), refused resumes, NaN handling."""

import json
import signal
import textwrap
import time

import torch


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return path

CONFIG = """
name = "resume-test"
seed = 3

[[stages]]
kind = "train"
name = "net"
data = { name = "builtin.digits" }
model = { name = "builtin.mlp", hidden = [64, 64], dropout = 0.1 }
loss = { name = "testplug.slow_ce", delay = %(delay)s }
sampler = { name = "builtin.gaussian_noise", std = 0.05 }
steps = 120
batch_size = 32
grad_accum = 2
ema_decay = 0.9
lr_schedule = "cosine"
warmup_steps = 10
grad_clip = 1.0
checkpoint_every = 20
log_every = 5
"""


def final_params(run_dir):
    return torch.load(run_dir / "stages" / "00-net" / "final" / "model.pt", weights_only=True)


def test_sigkill_then_resume_equals_an_unbroken_run(tmp_path, lz):
    config = write(tmp_path / "c.toml", CONFIG % {"delay": 0.02})
    unbroken, broken = tmp_path / "unbroken", tmp_path / "broken"
    lz("run", config, "--run-dir", unbroken, "--cpu", check=True)

    process = lz("run", config, "--run-dir", broken, "--cpu", background=True)
    checkpoints = broken / "stages" / "00-net" / "checkpoints"
    deadline = time.time() + 120
    while time.time() < deadline and not (checkpoints / "step-0000040").exists():
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert (checkpoints / "step-0000040").exists(), "the run did not reach its second checkpoint"
    assert not (broken / "stages" / "00-net" / "final").exists(), "killed too late: training had finished"

    out = lz("run", "--resume", broken, "--cpu")
    assert out.returncode == 0, out.stderr[-3000:]
    a, b = final_params(unbroken), final_params(broken)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"{key} differs after resume"
    assert json.loads((broken / "metrics.json").read_text()) == json.loads((unbroken / "metrics.json").read_text())


def test_run_dir_is_never_reused_and_changed_config_is_not_resumed(tmp_path, lz):
    config = write(tmp_path / "c.toml", (CONFIG % {"delay": 0}).replace("steps = 120", "steps = 4"))
    run_dir = tmp_path / "run"
    lz("run", config, "--run-dir", run_dir, "--cpu", check=True)
    for name in ("config.resolved.toml", "overrides.txt", "env.json", "metrics.json"):
        assert (run_dir / name).exists(), name
    env = json.loads((run_dir / "env.json").read_text())
    assert env["seed"] == 3 and env["world_size"] == 1 and "torch" in env["packages"]
    assert list((run_dir / "tensorboard" / "net").glob("events.out.tfevents.*"))

    again = lz("run", config, "--run-dir", run_dir, "--cpu")
    assert again.returncode == 2 and "already exists and is not empty" in again.stderr

    changed = lz("run", config, "stages[0].steps=5", "--resume", run_dir, "--cpu")
    assert changed.returncode == 2 and "refusing to resume" in changed.stderr
    assert "-steps = 4" in changed.stderr and "+steps = 5" in changed.stderr

    same = lz("run", "--resume", run_dir, "--cpu")  # everything done: loads, re-reports
    assert same.returncode == 0, same.stderr


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_checkpoint(tmp_path, lz):
    text = (CONFIG % {"delay": 0}).replace("delay = 0", "delay = 0, nan_at = 70")
    config = write(tmp_path / "c.toml", text)
    run_dir = tmp_path / "run"
    out = lz("run", config, "--run-dir", run_dir, "--cpu")
    assert out.returncode == 2, out.stderr
    assert "the loss became nan" in out.stderr and "Traceback" not in out.stderr
    assert "step-0000020" in out.stderr  # names the last good checkpoint
    assert (run_dir / "stages" / "00-net" / "checkpoints" / "step-0000020").exists()


def test_corrupt_checkpoint_is_reported(tmp_path, lz):
    config = write(tmp_path / "c.toml", (CONFIG % {"delay": 0}).replace("steps = 120", "steps = 30"))
    run_dir = tmp_path / "run"
    lz("run", config, "--run-dir", run_dir, "--cpu", check=True)
    stage = run_dir / "stages" / "00-net"
    (stage / "done.pt").unlink()
    (stage / "checkpoints" / "step-0000020" / "model.safetensors").write_bytes(b"garbage")
    out = lz("run", "--resume", run_dir, "--cpu")
    assert out.returncode == 2 and "cannot load checkpoint" in out.stderr and "step-0000020" in out.stderr
