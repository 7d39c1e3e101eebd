"""Registrations of the ``hyperspherical`` plugin (arXiv 2102.03243): names only, no heavy imports."""

from latentzoo import hookimpl

_P = "latentzoo_hyperspherical"
_DATA = {"name": "hyperspherical.digits_split"}
_HYPERSPHERE = {"name": "hyperspherical.hypersphere_classifier", "embed_dim": 16}
_EMBEDDING = {"name": "hyperspherical.embedding_net", "embed_dim": 16}


def _train(model: dict, loss: dict | str, **extra) -> dict:
    return {"kind": "train", "name": "train", "data": _DATA, "model": model, "loss": loss,
            "steps": 3, "batch_size": 32, "optimizer": {"name": "adam", "lr": 1e-3}, **extra}


def _evaluate(*metrics: dict) -> dict:
    return {"kind": "evaluate", "name": "eval", "model": "train", "data": _DATA, "metrics": list(metrics)}


_HYPERSPHERE_TRAIN = _train(_HYPERSPHERE, "hyperspherical.normalized_softmax_ce")


@hookimpl
def latentzoo_register_data(register):
    register("digits_split", f"{_P}.data:digits_split", config=f"{_P}.data:DigitsSplitConfig",
             doc="sklearn digits: base digits 0-4 (train/test 70/30), novel digits 5-9 ('novel')")
    register("mnist1d_split", f"{_P}.data:mnist1d_split", config=f"{_P}.data:Mnist1dSplitConfig",
             doc="MNIST-1D (generated offline): base templates 0-4, novel 5-9 (real-scale configs)")


@hookimpl
def latentzoo_register_models(register):
    register("hypersphere_classifier", f"{_P}.models:hypersphere_classifier",
             config=f"{_P}.models:HypersphereConfig",
             doc="encoder -> s·z/‖z‖ -> unit-norm, bias-free softmax layer (logits = s·cos)",
             example={"stages": [_HYPERSPHERE_TRAIN]})
    register("softmax_plain", f"{_P}.models:softmax_plain", config=f"{_P}.models:PlainSoftmaxConfig",
             doc="baseline: the same encoder with an unconstrained linear head (weights, bias)",
             example={"stages": [_train({"name": "hyperspherical.softmax_plain"}, "builtin.cross_entropy")]})
    register("embedding_net", f"{_P}.models:embedding_net", config=f"{_P}.models:EncoderConfig",
             doc="baseline: the encoder alone (triplet and prototypical losses)",
             example={"stages": [_train(_EMBEDDING, "hyperspherical.triplet")]})


@hookimpl
def latentzoo_register_losses(register):
    register("normalized_softmax_ce", f"{_P}.losses:NormalizedSoftmaxCE",
             config=f"{_P}.losses:NormalizedSoftmaxConfig",
             doc="CE over s·cos(z, w_c); projects w_c to unit norm after every update (Keras constraint)",
             example={"stages": [_HYPERSPHERE_TRAIN]})
    register("triplet", f"{_P}.losses:TripletLoss", config=f"{_P}.losses:TripletConfig",
             doc="baseline: FaceNet triplet loss, semi-hard or batch-all mining, margin 0.2",
             example={"stages": [_train(_EMBEDDING, "hyperspherical.triplet")]})
    register("protonet", f"{_P}.losses:PrototypicalLoss", config=f"{_P}.losses:PrototypicalConfig",
             doc="baseline: prototypical-network loss over an episode (Snell et al. 2017, Eq. 1-2)",
             example={"stages": [_train(_EMBEDDING, "hyperspherical.protonet",
                                        sampler={"name": "hyperspherical.episodes", "ways": 5,
                                                 "shots": 2, "queries": 3})]})


@hookimpl
def latentzoo_register_samplers(register):
    register("episodes", f"{_P}.samplers:EpisodeSampler", config=f"{_P}.samplers:EpisodeConfig",
             doc="N-way K-shot training episodes drawn from the base classes (global torch RNG)",
             example={"stages": [_train(_EMBEDDING, "hyperspherical.protonet",
                                        sampler={"name": "hyperspherical.episodes", "ways": 3,
                                                 "shots": 1, "queries": 2})]})


@hookimpl
def latentzoo_register_metrics(register):
    register("joint_acc", f"{_P}.metrics:joint_acc", config=f"{_P}.metrics:JointConfig",
             doc="joint scenario: novel weights appended, accuracy on base-test + novel queries, 95% CI",
             example={"stages": [_HYPERSPHERE_TRAIN,
                                 _evaluate({"name": "hyperspherical.joint_acc", "draws": 3})]})
    register("disjoint_acc", f"{_P}.metrics:disjoint_acc", config=f"{_P}.metrics:DisjointConfig",
             doc="disjoint scenario: N-way K-shot novel-class episodes (600, fixed seed), 95% CI",
             example={"stages": [_HYPERSPHERE_TRAIN,
                                 _evaluate({"name": "hyperspherical.disjoint_acc", "episodes": 20})]})
    register("softmax_confidence", f"{_P}.metrics:softmax_confidence", config=f"{_P}.metrics:ConfidenceConfig",
             doc="cross-entropy and mean max softmax probability on a split (radius ablation)",
             example={"stages": [_HYPERSPHERE_TRAIN, _evaluate({"name": "hyperspherical.softmax_confidence"})]})


@hookimpl
def latentzoo_register_stages(register):
    register("timed_train", f"{_P}.stages:run_timed_train", config="latentzoo.experiment:TrainConfig",
             doc="the core's train stage, plus train_seconds and seconds_per_epoch (claim C3)",
             example={"stages": [{**_HYPERSPHERE_TRAIN, "kind": "hyperspherical.timed_train"}]})
