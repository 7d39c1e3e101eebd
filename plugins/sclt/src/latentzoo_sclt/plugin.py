"""Registrations of the sLCT plugin (arXiv 2502.01441). Registrations only: no heavy imports."""

from latentzoo import hookimpl

_P = "latentzoo_sclt"
_DATA = {"name": "sclt.digits"}


def _example(loss: str = "sclt.cauchy_loss", sampler: str = "sclt.onestep", pairing: str = "ot",
             train_metrics: bool = False) -> dict:
    """A 3-stage experiment of a few steps: autoencoder, latent consistency model, generation."""
    consistency = {
        "kind": "train", "name": "consistency", "data": _DATA, "inputs": {"autoencoder": "autoencoder"},
        "model": {"name": "sclt.consistency_mlp", "width": 32, "depth": 1, "time_dim": 16},
        "loss": {"name": loss, "total_steps": 3, "s1": 20},
        "sampler": {"name": "sclt.ot_coupler", "pairing": pairing, "outlier_rate": 0.02},
        "steps": 3, "batch_size": 32}
    if train_metrics:
        consistency["metrics"] = [{"name": "sclt.training_stats"}]
    return {"stages": [
        {"kind": "train", "name": "autoencoder", "data": _DATA,
         "model": {"name": "sclt.autoencoder", "hidden": 32}, "loss": {"name": "builtin.mse", "target": "x"},
         "steps": 2, "batch_size": 32},
        consistency,
        {"kind": "generate", "name": "samples", "model": "consistency", "data": _DATA,
         "inputs": {"autoencoder": "autoencoder"}, "sampler": {"name": sampler},
         "num_samples": 64, "batch_size": 64, "grid": 16,
         "metrics": [{"name": "builtin.digits_frechet"}, {"name": "sclt.latent_swd", "projections": 16},
                     {"name": "diffusion.sampling_cost", "num_samples": 16}]},
    ]}


@hookimpl
def latentzoo_register_data(register):
    register("digits", f"{_P}.data:digits", config=f"{_P}.data:DigitsConfig",
             doc="sklearn digits, fixed 1500/297 split, with each example's index")


@hookimpl
def latentzoo_register_models(register):
    register("autoencoder", f"{_P}.autoencoder:autoencoder", config=f"{_P}.autoencoder:AutoencoderConfig",
             doc="tiny MLP autoencoder 64 -> D -> 64 whose latents sLCT models (stage 1)")
    register("consistency_mlp", f"{_P}.model:consistency_mlp", config=f"{_P}.model:ConsistencyConfig",
             doc="latent consistency model f(x, σ) = c_skip·x + c_out·F(c_in·x, 250 ln σ), NsLN or LN",
             example=_example())


@hookimpl
def latentzoo_register_losses(register):
    register("cauchy_loss", f"{_P}.losses:cauchy_loss", config=f"{_P}.losses:ConsistencyLossConfig",
             doc="sLCT: Cauchy consistency loss, adaptive c, iCT curriculum, + 5 x diffusion loss",
             example=_example("sclt.cauchy_loss"))
    register("pseudo_huber_loss", f"{_P}.losses:pseudo_huber_loss",
             config=f"{_P}.losses:PseudoHuberLossConfig",
             doc="iCT baseline: Pseudo-Huber consistency loss, c = 0.00054·√D, iCT curriculum",
             example=_example("sclt.pseudo_huber_loss", pairing="independent"))


@hookimpl
def latentzoo_register_samplers(register):
    register("ot_coupler", f"{_P}.coupling:OTCoupler", config=f"{_P}.coupling:OTCouplerConfig",
             doc="training draw: autoencoder latents (+ fixed outliers), noise paired by exact minibatch OT",
             example=_example())
    register("onestep", f"{_P}.samplers:onestep", config=f"{_P}.samplers:OneStepConfig",
             doc="1-step consistency sampling f(80·z, 80), decoded by the autoencoder",
             example=_example(sampler="sclt.onestep"))
    register("multistep", f"{_P}.samplers:multistep", config=f"{_P}.samplers:MultistepConfig",
             doc="multistep consistency sampling over grid indices ts (default 2 steps: 0, 420, 640 of 641)",
             example=_example(sampler="sclt.multistep"))


@hookimpl
def latentzoo_register_metrics(register):
    register("latent_swd", f"{_P}.metrics:latent_swd", config=f"{_P}.metrics:LatentSWDConfig",
             doc="sliced Wasserstein distance (128 directions) of generated vs test digits in latent space",
             example=_example())
    register("training_stats", f"{_P}.metrics:training_stats", config=f"{_P}.metrics:TrainingStatsConfig",
             doc="pair cost ‖x − n‖² and across-step std of L_CT recorded while training (OT claim)",
             example=_example(train_metrics=True))
