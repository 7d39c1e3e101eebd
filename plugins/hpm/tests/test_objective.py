"""HPMLoss: mask choice from the teacher, the schedules, the teacher's state, and resume."""

import copy

import pytest
import torch

from latentzoo.errors import UserError
from latentzoo.experiment import parse_experiment
from latentzoo.runner import run_experiment
from latentzoo_hpm.losses import HPMConfig, HPMLoss, hpm_loss
from latentzoo_hpm.model import MaskedAutoencoderViT


def tiny(**kw):
    torch.manual_seed(0)
    return MaskedAutoencoderViT(image_size=(8, 8), patch_size=2, channels=1, dim=16, depth=1, heads=2,
                                decoder_dim=16, decoder_depth=1, decoder_heads=2, **kw)


def test_late_epoch_masks_contain_the_teachers_top_patches():
    model = tiny()
    loss = HPMLoss(HPMConfig(total_steps=200, epochs=200))
    loss.step.fill_(199)                                  # last epoch: α = 0.5, n_hard = 6 of 12
    x = torch.rand(8, 1, 8, 8)
    mask, num_hard = loss.choose_mask(model, x, 12)
    assert num_hard == 6 and (mask.sum(1) == 12).all()
    scores = loss.teacher.module.predict_patch_loss(x)
    assert torch.gather(mask, 1, scores.topk(6, dim=1).indices).all()


def test_early_epochs_are_random_and_teacher_is_built_from_step_0():
    model = tiny()
    loss = HPMLoss(HPMConfig(total_steps=200, epochs=200))
    mask, num_hard = loss.choose_mask(model, torch.rand(4, 1, 8, 8), 12)
    assert num_hard == 0 and (mask.sum(1) == 12).all()
    assert loss.teacher is not None
    for a, b in zip(loss.teacher.module.parameters(), model.parameters(), strict=True):
        assert torch.equal(a, b) and not a.requires_grad


def test_after_step_moves_teacher_with_scheduled_decay():
    model = tiny()
    loss = HPMLoss(HPMConfig(total_steps=10, epochs=10, ema_decay=0.5, ema_decay_final=0.9,
                             ema_ramp_epochs=4))
    loss(model, {"x": torch.rand(4, 1, 8, 8)})
    before = model.mask_token.detach().clone()
    with torch.no_grad():
        model.mask_token.add_(1.0)
    loss.after_step(model=model, step=3)                  # finished step 2 -> epoch 2: d = 0.7
    assert int(loss.step) == 3
    assert torch.allclose(loss.teacher.module.mask_token, before + 0.3)


def test_random_mae_has_no_teacher_and_no_prediction():
    model = tiny(loss_predictor=False)
    loss = HPMLoss(HPMConfig(mask="random", loss_predictor="none"))
    out = loss(model, {"x": torch.rand(4, 1, 8, 8)})
    assert loss.teacher is None and "loss_prediction" not in out
    assert out["loss"].item() == pytest.approx(out["reconstruction"].item())


def test_total_is_reconstruction_plus_weighted_prediction():
    model = tiny()
    loss = HPMLoss(HPMConfig(mask="random", predictor_weight=0.5))
    out = loss(model, {"x": torch.rand(4, 1, 8, 8)})
    assert out["loss"].item() == pytest.approx(out["reconstruction"].item() + 0.5 * out["loss_prediction"].item(),
                                               rel=1e-6)
    out["loss"].backward()
    assert model.encoder.patch_embed.weight.grad is not None
    assert model.to_loss.weight.grad is not None


def test_config_errors():
    with pytest.raises(UserError, match="trained loss predictor"):
        hpm_loss(HPMConfig(mask="hard", loss_predictor="none"), None)
    loss = HPMLoss(HPMConfig(mask="random"))
    with pytest.raises(UserError, match="loss_predictor = true"):
        loss(tiny(loss_predictor=False), {"x": torch.rand(2, 1, 8, 8)})


def test_teacher_state_survives_a_state_dict_round_trip():
    model, loss = tiny(), HPMLoss(HPMConfig(total_steps=4, epochs=4))
    loss(model, {"x": torch.rand(4, 1, 8, 8)})
    with torch.no_grad():
        loss.teacher.module.mask_token.add_(3.0)
    loss.after_step(model=model, step=2)
    state = copy.deepcopy(loss.state_dict())
    assert any(k.startswith("teacher.") for k in state)
    fresh = HPMLoss(HPMConfig(total_steps=4, epochs=4))
    fresh.load_state_dict(state)                          # strict: no unexpected keys
    assert fresh.teacher is None and int(fresh.step) == 2
    teacher = fresh.teacher_of(tiny())
    assert torch.equal(teacher.module.mask_token, loss.teacher.module.mask_token)


def _experiment(checkpoint_every=0):
    stage = {"kind": "train", "name": "pretrain", "data": {"name": "builtin.digits", "image": True},
             "model": {"name": "hpm.mae_vit", "dim": 16, "depth": 1, "heads": 2, "decoder_dim": 16,
                       "decoder_depth": 1, "decoder_heads": 2},
             "loss": {"name": "hpm.hpm", "total_steps": 6, "epochs": 3, "ema_decay": 0.5,
                      "ema_decay_final": 0.9, "ema_ramp_epochs": 2},
             "steps": 6, "batch_size": 32, "log_every": 1}
    if checkpoint_every:
        stage |= {"checkpoint_every": checkpoint_every, "keep_checkpoints": 5}
    return parse_experiment({"name": "resume", "stages": [stage]}, "test")


def test_resumed_run_matches_an_unbroken_one(tmp_path):
    run_experiment(_experiment(), tmp_path / "unbroken", cpu=True)
    broken = tmp_path / "broken"
    run_experiment(_experiment(checkpoint_every=3), broken, cpu=True)
    stage = broken / "stages" / "00-pretrain"
    assert (stage / "checkpoints" / "step-0000003").exists()
    # undo everything after the step-3 checkpoint, as if the run had been killed there
    (stage / "done.pt").unlink()
    for path in (stage / "final").iterdir():
        path.unlink()
    run_experiment(_experiment(checkpoint_every=3), broken, resume=True, cpu=True)
    a = torch.load(tmp_path / "unbroken" / "stages" / "00-pretrain" / "final" / "model.pt")
    b = torch.load(stage / "final" / "model.pt")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"{key} differs after resume"
