"""Registrations of the relreps plugin (Moschella et al., ICLR 2023, arXiv 2209.15430).

Only names and import paths here: components are imported when they are built.
"""

from latentzoo import hookimpl

_D = "latentzoo_relreps.data"
_M = "latentzoo_relreps.models"
_E = "latentzoo_relreps.metrics"

_DATA = {"name": "relreps.digits_anchored", "num_anchors": 16}


def _two_models_and_eval(metric: dict, model: str = "relreps.classifier",
                         loss: dict | str = "builtin.cross_entropy") -> dict:
    """A tiny experiment: two models (stage seeds 0 and 1) and an evaluate stage with ``metric``."""
    train = {"kind": "train", "data": _DATA, "model": {"name": model, "latent_dim": 8},
             "loss": loss, "steps": 3, "batch_size": 32}
    return {"stages": [
        dict(train, name="run_a"),
        dict(train, name="run_b"),
        {"kind": "evaluate", "name": "eval", "model": "run_a", "models": ["run_b"], "data": _DATA,
         "metrics": [metric]},
    ]}


@hookimpl
def latentzoo_register_data(register):
    register("digits_anchored", f"{_D}:digits_anchored", config=f"{_D}:DigitsAnchoredConfig",
             doc="sklearn digits with a fixed set of K anchor samples (uniform / stratified_subset)")
    register("vision_anchored", f"{_D}:vision_anchored", config=f"{_D}:VisionAnchoredConfig",
             doc="MNIST / F-MNIST / CIFAR from a local torchvision folder, with K anchors (real scale)")


@hookimpl
def latentzoo_register_models(register):
    register("mlp_encoder", f"{_M}:mlp_encoder", config=f"{_M}:MLPEncoderConfig",
             doc="MLP encoder 64 -> 128 -> d, GELU, linear last layer")
    register("classifier", f"{_M}:classifier", config=f"{_M}:ModelConfig",
             doc="encoder -> relative projection r_x (Eq. 1) or absolute e_x -> LayerNorm -> MLP classifier",
             example={"stages": [{"kind": "train", "data": _DATA, "loss": "builtin.cross_entropy",
                                  "model": {"name": "relreps.classifier", "latent_dim": 8},
                                  "steps": 3, "batch_size": 32,
                                  "metrics": [{"name": "builtin.accuracy"}]}]})
    register("autoencoder", f"{_M}:autoencoder", config=f"{_M}:ModelConfig",
             doc="encoder -> relative projection r_x (Eq. 1) or absolute e_x -> LayerNorm -> MLP decoder",
             example={"stages": [{"kind": "train", "data": _DATA, "loss": {"name": "builtin.mse", "target": "x"},
                                  "model": {"name": "relreps.autoencoder", "space": "absolute"},
                                  "steps": 3, "batch_size": 32}]})


@hookimpl
def latentzoo_register_metrics(register):
    register("stitch_score", f"{_E}:stitch_score", config=f"{_E}:StitchScoreConfig",
             doc="zero-shot stitching: accuracy / MSE of every encoder x head pair, self vs stitched",
             example=_two_models_and_eval({"name": "relreps.stitch_score"}))
    register("latent_similarity", f"{_E}:latent_similarity", config=f"{_E}:LatentSimilarityConfig",
             doc="Cosine, MRR@k, Jaccard@k between runs' absolute and relative spaces",
             example=_two_models_and_eval({"name": "relreps.latent_similarity", "k": 5},
                                          model="relreps.autoencoder",
                                          loss={"name": "builtin.mse", "target": "x"}))
