"""The frozen teacher inside the loss through the core's loop: never updated, always in eval
mode (spec test 5), checkpointed and restored so that a resumed run equals an unbroken one."""

import shutil

import tomli_w
import torch
from latentzoo.build import BuildContext
from latentzoo.data import DataInfo
from latentzoo.training import TrainModule
from latentzoo_random_teachers.losses import DistillCE, DistillConfig
from latentzoo_random_teachers.models import NetConfig, StudentConfig, dino_net, student

_NET = {"hidden": [16, 16], "head_hidden": [16], "bottleneck": 4, "out_dim": 32}


def test_teacher_unchanged_and_in_eval_mode_after_50_steps():
    ctx = BuildContext(data=DataInfo(input_shape=(5,)), seed=0)
    teacher = dino_net(NetConfig(**_NET), ctx).eval().requires_grad_(False)
    ctx.artifacts = {"teacher": teacher}
    loss = DistillCE(DistillConfig(t_temp=0.04, s_temp=0.1, t_cmom=0.9), ctx)
    model = student(StudentConfig(), ctx)
    before = {k: v.clone() for k, v in loss.teacher.state_dict().items()}
    start = {k: v.clone() for k, v in model.state_dict().items()}
    module = TrainModule(model, loss)
    module.train()                                   # what the core's loop does
    optimizer = torch.optim.AdamW([p for p in module.parameters() if p.requires_grad], lr=1e-2)
    assert all(not p.requires_grad for p in loss.teacher.parameters())
    generator = torch.Generator().manual_seed(0)
    for _ in range(50):
        out = module({"x": torch.randn(32, 5, generator=generator) * 2 + 1})
        optimizer.zero_grad()
        out["loss"].backward()
        optimizer.step()
    assert not any(m.training for m in loss.teacher.modules())
    after = loss.teacher.state_dict()
    assert all(torch.equal(after[k], v) for k, v in before.items())   # parameters and BN buffers
    assert torch.equal(after["network.encoder.net.1.running_mean"], torch.zeros(16))
    assert torch.equal(after["network.encoder.net.1.running_var"], torch.ones(16))
    assert not torch.equal(model.state_dict()["head.last.weight"], start["head.last.weight"])
    assert torch.count_nonzero(loss.t_centre) > 0


def _experiment(steps: int) -> dict:
    data = {"name": "random_teachers.single_view", "source": "digits"}
    return {"name": "resume", "seed": 3, "stages": [
        {"kind": "random_teachers.random_init", "name": "teacher", "data": data,
         "model": {"name": "random_teachers.dino_net"} | _NET},
        {"kind": "train", "name": "student", "data": data, "inputs": {"teacher": "teacher"},
         "model": {"name": "random_teachers.student", "s_init": "neighborhood", "eps": 0.1},
         "loss": {"name": "random_teachers.distill_ce", "t_temp": 0.04, "s_temp": 0.1,
                  "t_cmom": 0.9, "s_cmom": 0.5},
         "steps": steps, "batch_size": 32, "checkpoint_every": steps // 2, "log_every": 1}]}


def _interrupt(run_dir):
    """Leave the run as a crash right after the step-N/2 checkpoint would: drop what came later."""
    stage = run_dir / "stages" / "01-student"
    (stage / "done.pt").unlink()
    shutil.rmtree(stage / "final")
    (run_dir / "metrics.json").unlink()


def test_resume_matches_unbroken_run_bit_for_bit(tmp_path, monkeypatch):
    from latentzoo.cli import main
    from safetensors.torch import load_file, save_file

    monkeypatch.setenv("LATENTZOO_NO_PROGRESS", "1")
    config = tmp_path / "resume.toml"
    config.write_text(tomli_w.dumps(_experiment(steps=8)))
    runs = {name: tmp_path / name for name in ("unbroken", "resumed", "centre_lost")}
    for run_dir in runs.values():
        assert main(["run", str(config), "--run-dir", str(run_dir), "--cpu"]) == 0
    for name in ("resumed", "centre_lost"):
        _interrupt(runs[name])
    checkpoints = sorted((runs["centre_lost"] / "stages" / "01-student" / "checkpoints").iterdir())
    assert [c.name for c in checkpoints][-1].endswith("4") and len(checkpoints) == 1
    # the loss's state is in the checkpoint: the frozen teacher and both centres
    state_file = next(checkpoints[0].glob("model*.safetensors"))
    state = load_file(state_file)
    assert {"loss.t_centre", "loss.s_centre", "loss.teacher.network.head.last.weight"} <= set(state)
    assert torch.count_nonzero(state["loss.t_centre"]) > 0
    state["loss.t_centre"] = torch.zeros_like(state["loss.t_centre"])   # control: lose the centre
    save_file(state, state_file, metadata={"format": "pt"})
    for name in ("resumed", "centre_lost"):
        assert main(["run", "--resume", str(runs[name]), "--cpu"]) == 0

    def final(name):
        return torch.load(runs[name] / "stages" / "01-student" / "final" / "model.pt")

    unbroken, resumed = final("unbroken"), final("resumed")
    assert unbroken.keys() == resumed.keys()
    assert all(torch.equal(unbroken[k], resumed[k]) for k in unbroken)
    lost = final("centre_lost")
    assert not all(torch.equal(unbroken[k], lost[k]) for k in unbroken), (
        "resuming without the loss's centre should change the result: the test would not see a "
        "loss state that is not restored")
