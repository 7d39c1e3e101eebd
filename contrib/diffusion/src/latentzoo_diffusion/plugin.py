"""Registrations of latentzoo-diffusion: denoiser, ε-loss, DDPM/DDIM samplers, sampling cost."""

from latentzoo import hookimpl

_M = "latentzoo_diffusion.models"
_L = "latentzoo_diffusion.losses"
_S = "latentzoo_diffusion.samplers"
_E = "latentzoo_diffusion.metrics"
_U = "latentzoo_diffusion.unet"

_TOY = {"name": "builtin.toy2d", "num_train": 256, "num_test": 128}
_DENOISER = {"name": "diffusion.mlp_denoiser", "width": 32, "depth": 1, "time_dim": 16}
_TRAIN = {"kind": "train", "name": "denoiser", "data": _TOY, "model": _DENOISER,
          "loss": {"name": "diffusion.ddpm_loss", "timesteps": 50}, "steps": 3, "batch_size": 32}


_DIGITS_IMAGES = {"name": "builtin.digits", "image": True, "train_limit": 256}
_TRAIN_UNET = {"kind": "train", "name": "denoiser", "data": _DIGITS_IMAGES,
               "model": {"name": "diffusion.tiny_unet", "channels": [8, 16], "time_dim": 16},
               "loss": {"name": "diffusion.ddpm_loss", "timesteps": 50}, "steps": 3, "batch_size": 16}


def _generate(sampler: dict, image: bool = False) -> dict:
    data = _DIGITS_IMAGES if image else _TOY
    return {"stages": [_TRAIN_UNET if image else _TRAIN, {
        "kind": "generate", "name": "samples", "model": "denoiser", "data": data,
        "sampler": sampler, "num_samples": 64, "batch_size": 32, "grid": 16,
        "metrics": [{"name": "builtin.sliced_wasserstein", "projections": 16},
                    {"name": "diffusion.sampling_cost", "num_samples": 16}]}]}


@hookimpl
def latentzoo_register_models(register):
    register("mlp_denoiser", f"{_M}:mlp_denoiser", config=f"{_M}:DenoiserConfig",
             doc="residual-MLP denoiser model(x, t) with adaLN noise-level embedding (flat data)",
             example={"stages": [_TRAIN]})
    register("tiny_unet", f"{_U}:tiny_unet", config=f"{_U}:TinyUNetConfig",
             doc="tiny DDPM-style U-Net model(x, t) for small images (1x8x8, 1x32x32)",
             example=_generate({"name": "diffusion.ddim", "timesteps": 50, "steps": 3}, image=True))


@hookimpl
def latentzoo_register_losses(register):
    register("ddpm_loss", f"{_L}:DDPMEpsilonLoss", config=f"{_L}:DDPMLossConfig",
             doc="ε-prediction DDPM loss ‖ε − ε_θ(x_t, t)‖² (Ho et al. 2020, Eq. 14)",
             example={"stages": [_TRAIN]})


@hookimpl
def latentzoo_register_samplers(register):
    register("ddpm", f"{_S}:DDPMSampler", config=f"{_S}:DDPMConfig",
             doc="ancestral DDPM sampling over a respaced chain of `steps` timesteps",
             example=_generate({"name": "diffusion.ddpm", "timesteps": 50, "steps": 10}))
    register("ddim", f"{_S}:DDIMSampler", config=f"{_S}:DDIMConfig",
             doc="DDIM sampling (Song et al. 2021, Eq. 12) with `steps` network evaluations",
             example=_generate({"name": "diffusion.ddim", "timesteps": 50, "steps": 5}))


@hookimpl
def latentzoo_register_metrics(register):
    register("sampling_cost", f"{_E}:sampling_cost", config=f"{_E}:SamplingCostConfig",
             doc="network evaluations per sample and wall seconds per 1000 samples of the stage's sampler",
             example=_generate({"name": "diffusion.ddim", "timesteps": 50, "steps": 4}))
