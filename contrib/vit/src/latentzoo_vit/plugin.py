"""Registrations of latentzoo-vit: the ViT model (masking utilities are plain functions)."""

from latentzoo import hookimpl

_V = "latentzoo_vit.vit"


def _digits_classifier(**model):
    return {"stages": [{
        "kind": "train", "name": "vit", "data": {"name": "builtin.digits", "image": True},
        "model": {"name": "vit.vit", "patch_size": 2, "dim": 16, "depth": 1, "heads": 2} | model,
        "loss": "builtin.cross_entropy", "steps": 3, "batch_size": 32,
        "metrics": [{"name": "builtin.accuracy"}, {"name": "builtin.knn_accuracy", "k": 5}]}]}


@hookimpl
def latentzoo_register_models(register):
    register("vit", f"{_V}:vit", config=f"{_V}:ViTConfig",
             doc="small Vision Transformer (pre-norm, sin-cos or learned positions); "
                 "embed() = mean-pooled or class-token features",
             example=_digits_classifier())
