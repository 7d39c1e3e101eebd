"""Registrations of the cmim plugin (Livne 2025, contrastive MIM, arXiv 2502.19642)."""

from latentzoo import hookimpl

_P = "latentzoo_cmim"
_MODEL = {"name": "cmim.autoencoder", "latent_dim": 4, "hidden": [32, 32]}


def _example(loss="cmim.total", metrics=None, model=None, **train):
    """A 3-step run on digits followed by an evaluate stage of the frozen model."""
    stage = {"kind": "train", "name": "train", "data": {"name": "builtin.digits", "test_fraction": 0.2},
             "model": model or _MODEL, "loss": loss, "steps": 3, "batch_size": 32} | train
    evaluate = {"kind": "evaluate", "name": "eval", "model": "train",
                "data": {"name": "builtin.digits", "test_fraction": 0.2},
                "metrics": metrics or [{"name": "cmim.reconstruction"}]}
    return {"stages": [stage, evaluate]}


@hookimpl
def latentzoo_register_models(register):
    register("autoencoder", f"{_P}.models:autoencoder", config=f"{_P}.models:AutoEncoderConfig",
             doc="q(z|x) Gaussian MLP encoder + p(x|z) MLP decoder (fixed σ_x or Bernoulli); embed = μ",
             example=_example())


@hookimpl
def latentzoo_register_losses(register):
    register("total", f"{_P}.losses:CMIMLoss", config=f"{_P}.losses:CMIMConfig",
             doc="cMIM: A-MIM + λ·contrastive term −log p(k=1|z,x) (unit weights, C)",
             example=_example())
    register("amim", f"{_P}.losses:AMIMLoss", config=f"{_P}.losses:AMIMConfig",
             doc="A-MIM: −log p(x|z) − ½(log P(z) + log q(z|x)) (impl) or the MIM repo's ½-form (paper)",
             example=_example({"name": "cmim.amim", "form": "paper", "warmup_steps": 2}))
    register("contrastive", f"{_P}.losses:ContrastiveLoss", config=f"{_P}.losses:ContrastiveConfig",
             doc="cMIM contrastive term alone: −mean log p(k=1|z_i,x_i), negatives as a mean",
             example=_example({"name": "cmim.contrastive", "temperature": 0.1},
                              find_unused_parameters=True))
    register("vae", f"{_P}.losses:VAELoss", config=f"{_P}.losses:VAEConfig",
             doc="VAE baseline: −log p(x|z) + β(log q(z|x) − log P(z))",
             example=_example({"name": "cmim.vae", "prior": "mog", "latent_dim": 4}))


@hookimpl
def latentzoo_register_metrics(register):
    register("informative_embedding", f"{_P}.metrics:informative_probe",
             config=f"{_P}.metrics:InformativeEmbeddingConfig",
             doc="probe + k-NN accuracy on informative embeddings [μ, decoder hidden states] (or μ)",
             example=_example(metrics=[{"name": "cmim.informative_embedding"},
                                       {"name": "cmim.informative_embedding", "representation": "mean"}]))
    register("reconstruction", f"{_P}.metrics:reconstruction", config=f"{_P}.metrics:ReconstructionConfig",
             doc="reconstruction MSE per pixel of the mean of p(x|z=μ(x))",
             example=_example())
    register("contrastive_term", f"{_P}.metrics:contrastive_term",
             config=f"{_P}.metrics:ContrastiveTermConfig",
             doc="diagnostic: the contrastive term −mean log p(k=1|μ,x) on the evaluation split",
             example=_example(metrics=[{"name": "cmim.contrastive_term", "batch_size": 16}]))
    register("latent_map", f"{_P}.metrics:latent_map", config=f"{_P}.metrics:LatentMapConfig",
             doc="figure: 2-D PCA (fitted on train) of the test codes μ by class, and reconstructions from μ",
             example=_example(metrics=[{"name": "cmim.latent_map", "num_images": 4}]))
