"""Registrations of the SIGN plugin (arXiv 2509.21470). Registrations only: no heavy imports."""

from latentzoo import hookimpl

_P = "latentzoo_sign"
_T = 50  # chain length of the tiny examples
_DATA = {"name": "builtin.digits", "train_limit": 256}
_TEACHER = {"kind": "train", "name": "teacher", "data": _DATA,
            "model": {"name": "diffusion.mlp_denoiser", "width": 32, "depth": 1, "time_dim": 16},
            "loss": {"name": "diffusion.ddpm_loss", "timesteps": _T}, "steps": 3, "batch_size": 32}
_SIGN_LOSS = {"name": "sign.objective", "timesteps": _T, "reg_pairs": 16, "reg_steps": 3}


def _example(loss: dict | None = None, sampler: dict | None = None, metrics: list | None = None,
             model: dict | None = None) -> dict:
    """Teacher (DDPM ε-loss), idempotent student distilled from it, generation: a few steps each."""
    student = {"kind": "train", "name": "student", "data": _DATA, "inputs": {"teacher": "teacher"},
               "model": model or {"name": "sign.idempotent", "timesteps": _T},
               "loss": loss or _SIGN_LOSS, "steps": 3, "batch_size": 32}
    generate = {"kind": "generate", "name": "samples", "model": "student", "data": _DATA,
                "sampler": sampler or {"name": "sign.multistep", "steps": 2, "timesteps": _T},
                "num_samples": 64, "batch_size": 32, "grid": 16,
                "metrics": metrics or [{"name": "builtin.sliced_wasserstein", "projections": 16},
                                       {"name": "diffusion.sampling_cost", "num_samples": 16}]}
    return {"stages": [_TEACHER, student, generate]}


@hookimpl
def latentzoo_register_models(register):
    register("idempotent", f"{_P}.models:idempotent", config=f"{_P}.models:IdempotentConfig",
             doc="time-free idempotent net f(x) = (x − c·g(x, t_c))/a, g the teacher's architecture "
                 "(init: teacher copy or scratch)",
             example=_example(model={"name": "sign.idempotent", "timesteps": _T, "init": "scratch"}))


@hookimpl
def latentzoo_register_losses(register):
    register("objective", f"{_P}.losses:SIGNObjective", config=f"{_P}.losses:SIGNConfig",
             doc="SIGN (Eq. 9 stand-in, R): 20 L_rec + 20 L_idem + λ_f L_flow + λ_d L_dmd + λ_r L_reg "
                 "+ L_denoise (fake score) against a frozen diffusion teacher",
             example=_example())
    register("ign", f"{_P}.losses:IGNObjective", config=f"{_P}.losses:IGNConfig",
             doc="IGN baseline: 20 L_rec + 20 L_idem + 2.5 clamped adversarial L_tight (arXiv 2311.01462)",
             example=_example(loss={"name": "sign.ign"}))


@hookimpl
def latentzoo_register_samplers(register):
    register("multistep", f"{_P}.samplers:MultistepSampler", config=f"{_P}.samplers:MultistepConfig",
             doc="idempotent multi-step sampling: f(z), then re-noise on the teacher's chain and project",
             example=_example())
    register("repeat", f"{_P}.samplers:RepeatSampler", config=f"{_P}.samplers:RepeatConfig",
             doc="IGN repeated application x ← f(x), k times from z",
             example=_example(sampler={"name": "sign.repeat", "applications": 2}))


@hookimpl
def latentzoo_register_metrics(register):
    register("idempotence", f"{_P}.metrics:idempotence", config=f"{_P}.metrics:IdempotenceConfig",
             doc="E‖f(f(z)) − f(z)‖ and E‖f(x) − x‖ on held-out data, absolute and relative to the data scale",
             example=_example(metrics=[{"name": "sign.idempotence", "num_samples": 32}]))
    register("projection", f"{_P}.metrics:projection", config=f"{_P}.metrics:ProjectionConfig",
             doc="zero-shot projection f(x_c) of noised or masked held-out data: mse before and after",
             example=_example(metrics=[{"name": "sign.projection", "corruption": "mask", "strength": 0.25}]))
    register("projection_map", f"{_P}.metrics:projection_map", config=f"{_P}.metrics:ProjectionMapConfig",
             doc="figure: held-out digits, noised / masked, f of each and f(f(masked)), mse to the clean digit",
             example=_example(metrics=[{"name": "sign.projection_map", "num_images": 4}]))
    register("class_entropy", f"{_P}.metrics:class_entropy", config=f"{_P}.metrics:ClassEntropyConfig",
             doc="entropy of the predicted-class histogram of generated digits (ln 10 = all classes)",
             example=_example(metrics=[{"name": "sign.class_entropy"}]))
