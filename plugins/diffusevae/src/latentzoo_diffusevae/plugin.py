"""Registrations of the diffusevae plugin (Pandey et al., TMLR 2022, arXiv 2201.00308).

Only names and import paths here: components are imported when they are built.
"""

from latentzoo import hookimpl

_D = "latentzoo_diffusevae.data"
_V = "latentzoo_diffusevae.vae"
_M = "latentzoo_diffusevae.models"
_L = "latentzoo_diffusevae.losses"
_S = "latentzoo_diffusevae.samplers"
_E = "latentzoo_diffusevae.metrics"

# Tiny experiments the test kit runs: VAE -> conditional denoiser -> generate.
_DATA = {"name": "diffusevae.digits"}
_VAE = {"kind": "train", "name": "vae", "data": _DATA,
        "model": {"name": "diffusevae.vae", "hidden": 32}, "loss": "diffusevae.vae_loss",
        "steps": 3, "batch_size": 32}


def _denoiser(form: str = "form1", **loss) -> dict:
    return {"kind": "train", "name": "denoiser", "inputs": {"vae": "vae"}, "data": _DATA,
            "model": {"name": "diffusevae.cond_denoiser", "form": form, "width": 32, "depth": 1,
                      "time_dim": 16},
            "loss": {"name": "diffusevae.eps_mse"} | loss, "steps": 3, "batch_size": 32}


def _generate(sampler: dict, metrics: list | None = None, form: str = "form2",
              model: str = "denoiser") -> dict:
    return {"stages": [_VAE, _denoiser(form), {
        "kind": "generate", "name": "samples", "model": model, "inputs": {"vae": "vae"},
        "data": _DATA, "sampler": sampler, "num_samples": 64, "batch_size": 32, "grid": 16,
        "metrics": metrics or [{"name": "builtin.digits_frechet"},
                               {"name": "builtin.sliced_wasserstein", "projections": 16}]}]}


_DDIM = {"name": "diffusevae.ddim", "steps": 5}
_IMAGES = {"name": "diffusevae.digits", "image": True}
_IMAGE_EXAMPLE = {"stages": [
    _VAE | {"data": _IMAGES},
    _denoiser("form2") | {"data": _IMAGES, "model": {"name": "diffusevae.cond_unet", "form": "form2",
                                                     "channels": [8, 16], "time_dim": 16}},
    {"kind": "generate", "name": "samples", "model": "denoiser", "inputs": {"vae": "vae"},
     "data": _IMAGES, "sampler": _DDIM, "num_samples": 32, "batch_size": 32, "grid": 16,
     "metrics": [{"name": "builtin.digits_frechet"}]}]}


@hookimpl
def latentzoo_register_data(register):
    register("digits", f"{_D}:digits", config=f"{_D}:DigitsConfig",
             doc="sklearn 8x8 digits in [0, 1], stratified 1500 train / 297 test")
    register("cifar10", f"{_D}:cifar10", config=f"{_D}:Cifar10Config",
             doc="CIFAR-10 in [0, 1] from a local torchvision folder (real scale; never downloads)")


@hookimpl
def latentzoo_register_models(register):
    register("vae", f"{_V}:vae", config=f"{_V}:VAEConfig",
             doc="Gaussian-encoder, sigmoid-decoder MLP VAE (stage 1; encode/decode/reparameterize)",
             example={"stages": [_VAE]})
    register("cond_denoiser", f"{_M}:cond_denoiser", config=f"{_M}:CondDenoiserConfig",
             doc="ε-network on [x_t ‖ x̂] with t (and optional z) modulation; form1 / form2 / none",
             example={"stages": [_VAE, _denoiser("form1")]})
    register("cond_unet", f"{_M}:cond_unet", config=f"{_M}:CondUNetConfig",
             doc="ε-U-Net on [x_t ‖ x̂] (2C channels in, C out) for images; form1 / form2 / none",
             example=_IMAGE_EXAMPLE)


@hookimpl
def latentzoo_register_losses(register):
    register("vae_loss", f"{_V}:VAELoss", config=f"{_V}:VAELossConfig",
             doc="sum-reduced squared error + α·KL (summed over batch and latent dims)",
             example={"stages": [_VAE]})
    register("eps_mse", f"{_L}:EpsLoss", config=f"{_L}:EpsLossConfig",
             doc="ε-prediction loss on the Form 1 / Form 2 forward process, x̂ from the frozen VAE",
             example={"stages": [_VAE, _denoiser("form2", cfd_rate=0.5, cfd_mode="sample")]})


@hookimpl
def latentzoo_register_samplers(register):
    register("ddpm", f"{_S}:DDPMSampler", config=f"{_S}:DDPMConfig",
             doc="z ~ prior, x̂ = 2·Dec(z) − 1, ancestral DDPM refiner on a spaced chain (fixedlarge)",
             example=_generate({"name": "diffusevae.ddpm", "steps": 10}))
    register("ddim", f"{_S}:DDIMSampler", config=f"{_S}:DDIMConfig",
             doc="z ~ prior, x̂ = 2·Dec(z) − 1, DDIM refiner (η = 0) on uniform or quad spacing",
             example=_generate(_DDIM | {"prior": "gmm", "gmm_components": 3}, form="form1"))
    register("vae_sampler", f"{_S}:VAESampler", config=f"{_S}:VAESamplerConfig",
             doc="the VAE alone: Dec(z), z from N(0, I) or the ex-post GMM prior",
             example=_generate({"name": "diffusevae.vae_sampler"}, model="vae"))


@hookimpl
def latentzoo_register_metrics(register):
    register("label_agreement", f"{_E}:label_agreement", config=f"{_E}:LabelAgreementConfig",
             doc="controllability: classifier label agreement of refinements that share z",
             example=_generate(_DDIM, [{"name": "diffusevae.label_agreement", "num_latents": 8},
                                       {"name": "diffusion.sampling_cost", "num_samples": 8}]))
    register("memorization", f"{_E}:memorization", config=f"{_E}:MemorizationConfig",
             doc="nearest-neighbour distance of samples to the training set, and FD to it",
             example=_generate(_DDIM, [{"name": "diffusevae.memorization"}]))
