"""Registrations of latentzoo-hpm (arXiv 2312.13714): model, objective, mechanism metrics."""

from latentzoo import hookimpl

_M = "latentzoo_hpm.model"
_L = "latentzoo_hpm.losses"
_E = "latentzoo_hpm.metrics"

_TINY_MODEL = {"name": "hpm.mae_vit", "patch_size": 2, "dim": 16, "depth": 1, "heads": 2,
               "decoder_dim": 16, "decoder_depth": 1, "decoder_heads": 2}


def _pretrain_and_probe(loss=None, metrics=None):
    """Pretrain 3 steps with HPM (hard masks from step 0: epochs = steps), then probe the encoder."""
    data = {"name": "builtin.digits", "image": True}
    return {"stages": [
        {"kind": "train", "name": "pretrain", "data": data, "model": dict(_TINY_MODEL),
         "loss": loss or {"name": "hpm.hpm", "total_steps": 3, "epochs": 3},
         "steps": 3, "batch_size": 32, "optimizer": {"name": "adamw", "betas": [0.9, 0.95]}},
        {"kind": "evaluate", "name": "probe", "model": "pretrain", "data": data,
         "metrics": metrics or [{"name": "builtin.linear_probe", "max_iter": 50},
                                {"name": "builtin.knn_accuracy", "k": 20},
                                {"name": "hpm.rank_acc"}, {"name": "hpm.mask_hardness"},
                                {"name": "hpm.patch_map", "num_images": 4}]}]}


@hookimpl
def latentzoo_register_losses(register):
    register("hpm", f"{_L}:hpm_loss", config=f"{_L}:HPMConfig",
             doc="HPM objective: L_rec + L_pred (relative | mse | none) on masks of the EMA "
                 "teacher's hardest patches + random (easy-to-hard) or random (MAE)",
             example=_pretrain_and_probe())


@hookimpl
def latentzoo_register_models(register):
    register("mae_vit", f"{_M}:mae_vit", config=f"{_M}:MAEConfig",
             doc="MAE ViT (latentzoo-vit encoder on visible patches) with reconstructor and "
                 "loss-predictor decoders; embed() = mean of encoder patch tokens",
             example=_pretrain_and_probe())


@hookimpl
def latentzoo_register_metrics(register):
    register("rank_acc", f"{_E}:rank_acc", config=f"{_E}:RankAccuracyConfig",
             doc="fraction of masked-patch pairs the loss predictor orders like the true losses",
             example=_pretrain_and_probe())
    register("mask_hardness", f"{_E}:mask_hardness", config=f"{_E}:MaskHardnessConfig",
             doc="L_rec on predictor-chosen masks (alpha = 0.5) / L_rec on random masks",
             example=_pretrain_and_probe())
    register("patch_map", f"{_E}:patch_map", config=f"{_E}:PatchMapConfig",
             doc="figure: per test image, true per-patch loss and predicted ŝ under a seeded random "
                 "mask, and the model's top-k patches by ŝ",
             example=_pretrain_and_probe())
