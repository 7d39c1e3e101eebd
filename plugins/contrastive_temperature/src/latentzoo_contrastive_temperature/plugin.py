"""Registrations of the contrastive_temperature plugin (Wang & Liu 2021, arXiv 2012.09740)."""

from latentzoo import hookimpl

_P = "latentzoo_contrastive_temperature"
_NAME = "contrastive_temperature"


def _example(loss="contrastive_temperature.infonce", metrics=None):
    """A 3-step two-view run on digits (the reproduction's setting, tiny)."""
    return {"stages": [{
        "kind": "train",
        "data": {"name": "builtin.digits", "test_fraction": 0.3},
        "model": {"name": f"{_NAME}.mlp_encoder", "hidden": [32], "out_dim": 16},
        "sampler": "ssl.digits_twoview",
        "loss": loss,
        "metrics": metrics or [{"name": f"{_NAME}.uniformity"}],
        "steps": 3, "batch_size": 32,
    }]}


@hookimpl
def latentzoo_register_models(register):
    register("mlp_encoder", f"{_P}.models:mlp_encoder", config=f"{_P}.models:SphereMLPConfig",
             doc="MLP with BN+ReLU onto the unit sphere (64→256→256→64, L2-normalised output)")


@hookimpl
def latentzoo_register_losses(register):
    register("infonce", f"{_P}.losses:InfoNCE", config=f"{_P}.losses:InfoNCEConfig",
             doc="InfoNCE, SimCLR form, temperature τ (the paper's Eq. 1)", example=_example())
    register("hard_infonce", f"{_P}.losses:HardInfoNCE", config=f"{_P}.losses:HardInfoNCEConfig",
             doc="hard-negative InfoNCE: top-K = ⌈ρ|N|⌉ negatives per anchor (Sec. 5)",
             example=_example({"name": f"{_NAME}.hard_infonce", "ratio": 0.1}))
    register("simple", f"{_P}.losses:Simple", config=f"{_P}.losses:SimpleConfig",
             doc="simple contrastive loss −s_ip + λ·mean s_ik, the τ→∞ limit",
             example=_example(f"{_NAME}.simple"))


@hookimpl
def latentzoo_register_metrics(register):
    register("uniformity", f"{_P}.metrics:uniformity", config=f"{_P}.metrics:UniformityConfig",
             doc="Wang–Isola uniformity log mean exp(−t‖z_i−z_j‖²), t=2 (lower: more uniform)",
             example=_example())
    register("tolerance", f"{_P}.metrics:tolerance", config=f"{_P}.metrics:ToleranceConfig",
             doc="tolerance: mean cosine of same-class pairs (Sec. 4)",
             example=_example(metrics=[{"name": f"{_NAME}.tolerance"}]))
    register("penalty_entropy", f"{_P}.metrics:penalty_entropy_metric",
             config=f"{_P}.metrics:PenaltyEntropyConfig",
             doc="mean entropy of the relative penalties r_ij on negatives (formula 4 of losses.py)",
             example=_example(metrics=[{"name": f"{_NAME}.penalty_entropy"}]))
