"""Registrations of the GEDI plugin (arXiv 2401.00873): toys, network, the loss and its parts, metrics."""

from latentzoo import hookimpl

_D = "latentzoo_gedi.data"
_M = "latentzoo_gedi.models"
_L = "latentzoo_gedi.objectives"
_E = "latentzoo_gedi.metrics"

_TOY = {"name": "gedi.toy2d", "num_train": 256, "num_test": 128}
_NET = {"name": "gedi.mlp", "hidden": [32, 32], "projector_hidden": [32]}
_EVAL_METRICS = [{"name": "gedi.nmi"}, {"name": "gedi.cluster_usage"}, {"name": "gedi.ood_auroc", "num_noise": 64},
                 {"name": "builtin.kmeans_clustering", "representation": "input", "n_init": 2},
                 {"name": "builtin.linear_probe", "max_iter": 50}, {"name": "gedi.cluster_map", "resolution": 8}]


def _toy(loss, **fields):
    """A 3-step toy run and a separate evaluate stage on the frozen network."""
    train = {"kind": "train", "name": "train", "data": dict(_TOY), "model": dict(_NET),
             "sampler": {"name": "gedi.gaussian_views"}, "loss": loss, "steps": 3, "batch_size": 32}
    train.update(fields)
    evaluate = {"kind": "evaluate", "name": "eval", "model": "train", "data": dict(_TOY),
                "metrics": _EVAL_METRICS}
    return {"stages": [train, evaluate]}


_SGLD = {"sgld_steps": 2, "buffer_size": 64}


@hookimpl
def latentzoo_register_data(register):
    register("toy2d", f"{_D}:toy2d", config=f"{_D}:Toy2dConfig",
             doc="sklearn moons / circles (noise 0.05, factor 0.5), standardised",
             example=_toy({"name": "gedi.total", **_SGLD}))  # the kit's 2-process smoke: SGLD + buffer


@hookimpl
def latentzoo_register_samplers(register):
    register("gaussian_views", f"{_D}:GaussianViews", config=f"{_D}:GaussianViewsConfig",
             doc="two views of 2-D points: x + N(0, σ²I) per view (the toys' augmentation)",
             example=_toy({"name": "gedi.nogen"}))


@hookimpl
def latentzoo_register_models(register):
    register("mlp", f"{_M}:mlp", config=f"{_M}:MLPConfig",
             doc="MLP backbone (SiLU, no BN) + projector; logits f(x)/τ are clusters and energy",
             example=_toy({"name": "gedi.nogen"}))
    register("encoder", f"{_M}:encoder_network", config=f"{_M}:EncoderConfig",
             doc="any registered encoder + projector; logits f(x)/τ (e.g. builtin.conv on shapes)",
             example={"stages": [{
                 "kind": "train", "data": {"name": "builtin.shapes", "num_train": 64, "num_test": 32},
                 "model": {"name": "gedi.encoder", "encoder": {"name": "builtin.conv", "channels": [8]},
                           "projector_hidden": [16]},
                 "sampler": "ssl.shapes_twoview", "loss": {"name": "gedi.total", **_SGLD},
                 "metrics": [{"name": "gedi.nmi"}], "steps": 2, "batch_size": 16}]})


@hookimpl
def latentzoo_register_losses(register):
    register("total", f"{_L}:GEDILoss", config=f"{_L}:GEDIConfig",
             doc="GEDI: w_gen·L_GEN + 0.5·L_PRIOR + 0.5·β·L_INV (SGLD replay buffer in the loss)",
             example=_toy({"name": "gedi.total", **_SGLD}, checkpoint_every=2))
    register("nogen", f"{_L}:GEDILoss", config=f"{_L}:NoGenConfig",
             doc="GEDI without L_GEN: CPLearn's gedi_nogen_loss_func, 0.5·L_PRIOR + 0.5·β·L_INV",
             example={"stages": [{
                 "kind": "train", "data": {"name": "builtin.digits"},
                 "model": {"name": "gedi.mlp", "hidden": [32], "projector_hidden": [32], "projector_bn": True},
                 "sampler": {"name": "ssl.digits_twoview", "erase_prob": 0.0, "scale": [1.0, 1.0]},
                 "loss": "gedi.nogen", "metrics": [{"name": "gedi.nmi"}], "steps": 3, "batch_size": 32}]})
    register("prior", f"{_L}:GEDILoss", config=f"{_L}:PriorConfig",
             doc="L_PRIOR = −Σ_c log mean_n softmax(f(x_n))_c (log space), alone",
             example=_toy({"name": "gedi.prior"}))
    register("invariance", f"{_L}:GEDILoss", config=f"{_L}:InvarianceConfig",
             doc="L_INV = cross-entropy of softmax(f(x′)) against log_softmax(f(x)), alone",
             example=_toy({"name": "gedi.invariance"}))
    register("ebm", f"{_L}:GEDILoss", config=f"{_L}:EBMConfig",
             doc="L_GEN = E(data) − E(SGLD samples), E = −logsumexp f, alone (JEM without labels)",
             example=_toy({"name": "gedi.ebm", **_SGLD}))


@hookimpl
def latentzoo_register_metrics(register):
    register("nmi", f"{_E}:nmi", config=f"{_E}:NMIConfig",
             doc="NMI and ARI of argmax_c f(x)_c against the labels (sklearn)",
             example=_toy({"name": "gedi.nogen"}))
    register("cluster_usage", f"{_E}:cluster_usage", config=f"{_E}:UsageConfig",
             doc="entropy of the split-mean cluster assignment (0: cluster collapse, log C: uniform)",
             example=_toy({"name": "gedi.nogen"}))
    register("ood_auroc", f"{_E}:ood_auroc", config=f"{_E}:OODConfig",
             doc="AUROC of −E(x): test data vs uniform noise in the data box (sklearn)",
             example=_toy({"name": "gedi.total", **_SGLD}))
    register("cluster_map", f"{_E}:cluster_map", config=f"{_E}:ClusterMapConfig",
             doc="figure (2-D data): test points coloured by cluster over the energy landscape",
             example=_toy({"name": "gedi.nogen"}))
