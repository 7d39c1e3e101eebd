"""Registrations of the ``random_teachers`` plugin (arXiv 2302.12091): names only, no heavy imports."""

from latentzoo import hookimpl

_P = "latentzoo_random_teachers"

# A tiny network and data so that the examples take a second.
_DATA = {"name": "random_teachers.single_view", "source": "digits"}
_NET = {"name": "random_teachers.dino_net", "hidden": [32, 32], "head_hidden": [32, 32],
        "bottleneck": 8, "out_dim": 64}
_TEACHER = {"kind": "random_teachers.random_init", "name": "teacher", "data": _DATA, "model": _NET}


def _student(data: dict = _DATA, loss: dict | None = None, model: dict | None = None) -> dict:
    return {"kind": "train", "name": "student", "data": data, "inputs": {"teacher": "teacher"},
            "model": model or {"name": "random_teachers.student"},
            "loss": loss or {"name": "random_teachers.distill_ce"},
            "steps": 3, "batch_size": 32}


def _probe(*metrics: dict) -> dict:
    return {"kind": "evaluate", "name": "probe", "model": "student", "models": ["teacher"],
            "data": _DATA, "metrics": list(metrics)}


DISTILL = {"stages": [_TEACHER, _student()]}
DINO_V1 = {"stages": [_TEACHER, _student(loss={"name": "random_teachers.distill_ce", "t_temp": 0.04,
                                               "s_temp": 0.1, "t_cmom": 0.9})]}
PROBE = {"stages": [_TEACHER, _student(), _probe({"name": "random_teachers.probe", "epochs": 1})]}
NOISE = {"stages": [_TEACHER, _student(data={"name": "random_teachers.noise_inputs", "source": "digits"}),
                    _probe({"name": "random_teachers.probe", "epochs": 1})]}
INTERPOLATED = {"stages": [_TEACHER, _student(model={"name": "random_teachers.student",
                                                     "s_init": "interpolated", "alpha": 0.5})]}


@hookimpl
def latentzoo_register_data(register):
    register("single_view", f"{_P}.data:single_view", config=f"{_P}.data:SingleViewConfig",
             doc="one un-augmented, standardised view per sample (mnist1d procedural, or digits)",
             example=DISTILL)
    register("noise_inputs", f"{_P}.data:noise_inputs", config=f"{_P}.data:NoiseInputsConfig",
             doc="control: Gaussian inputs with the real data's per-feature mean / std, same sizes",
             example=NOISE)


@hookimpl
def latentzoo_register_models(register):
    register("dino_net", f"{_P}.models:dino_net", config=f"{_P}.models:NetConfig",
             doc="BN encoder (MLP or 1-D CNN) + DINO head with L2 bottleneck; embed() = encoder; "
                 "seeded init", example=DISTILL)
    register("student", f"{_P}.models:student", config=f"{_P}.models:StudentConfig",
             doc="student initialised from the teacher input: copy, interpolated (α), "
                 "neighbourhood (ε) or random, variance-preserving", example=INTERPOLATED)


@hookimpl
def latentzoo_register_losses(register):
    register("distill_ce", f"{_P}.losses:DistillCE", config=f"{_P}.losses:DistillConfig",
             doc="CE(softmax((g_T−c_T)/τ_T), softmax((g_S−c_S)/τ_S)) to a frozen random teacher "
                 "held (eval mode) in the loss; optional DINO centring", example=DISTILL)


@hookimpl
def latentzoo_register_metrics(register):
    register("probe", f"{_P}.metrics:probe", config=f"{_P}.metrics:ProbeConfig",
             doc="k-NN (k=20) and AdamW linear probe on standardised embeddings of the model, the "
                 "teacher and raw inputs; ‖θ_S − θ_T‖", example=PROBE)


@hookimpl
def latentzoo_register_stages(register):
    register("random_init", f"{_P}.stages:run_random_init", config=f"{_P}.stages:RandomInitConfig",
             doc="a randomly initialised, never-trained network (the random teacher) as an artifact",
             example=DISTILL)
