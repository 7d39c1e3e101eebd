"""Registrations of latentzoo-ssl: two-view samplers, NT-Xent, the projection-head model."""

from latentzoo import hookimpl

_A = "latentzoo_ssl.augment"
_L = "latentzoo_ssl.losses"
_M = "latentzoo_ssl.models"


def _digits_stage(**fields):
    stage = {"kind": "train", "data": {"name": "builtin.digits"},
             "model": {"name": "builtin.mlp", "hidden": [32], "out_dim": 16},
             "sampler": "ssl.digits_twoview", "loss": {"name": "ssl.nt_xent", "temperature": 0.5},
             "metrics": [{"name": "builtin.knn_accuracy", "k": 5}],
             "steps": 3, "batch_size": 32}
    stage.update(fields)
    return {"stages": [stage]}


@hookimpl
def latentzoo_register_samplers(register):
    register("digits_twoview", f"{_A}:DigitsTwoView", config=f"{_A}:DigitsTwoViewConfig",
             doc="two views of small grey images: shift, brightness, noise, square erase",
             example=_digits_stage())
    register("shapes_twoview", f"{_A}:ShapesTwoView", config=f"{_A}:ShapesTwoViewConfig",
             doc="two views of C x H x W images: random resized crop, h-flip, noise",
             example=_digits_stage(
                 data={"name": "builtin.shapes", "num_train": 128, "num_test": 64},
                 model={"name": "builtin.conv", "channels": [8, 16], "out_dim": 16},
                 sampler="ssl.shapes_twoview"))


@hookimpl
def latentzoo_register_losses(register):
    register("nt_xent", f"{_L}:NTXent", config=f"{_L}:NTXentConfig", aliases=("info_nce",),
             doc="InfoNCE / NT-Xent, SimCLR form (2N-2 in-batch negatives, both directions)",
             example=_digits_stage())


@hookimpl
def latentzoo_register_models(register):
    register("projection_head", f"{_M}:projection_head", config=f"{_M}:ProjectionHeadConfig",
             doc="encoder (any registered model) + projector MLP; embed() = encoder features",
             example=_digits_stage(model={"name": "ssl.projection_head",
                                          "encoder": {"name": "builtin.mlp", "hidden": [32]},
                                          "hidden": [32], "out_dim": 16}))
