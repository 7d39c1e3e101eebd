"""Registrations of the disc_vs_gen plugin (arXiv:2302.02334). No heavy imports here."""

from latentzoo import hookimpl

_P = "latentzoo_disc_vs_gen"

# Models are fitted by the curve stage (closed form / lbfgs), not by gradient: their examples
# are the stage that fits them. A two-stage experiment: pre-train an MLP feature extractor on one half of digits, freeze it,
# and compare NB with LR on the other half's features.
_ENCODER = {"kind": "train", "name": "encoder",
            "data": {"name": "disc_vs_gen.digits_halves", "half": "pretrain"},
            "model": {"name": "builtin.mlp", "hidden": [32, 16]},
            "loss": "builtin.cross_entropy", "steps": 3, "batch_size": 32}
_PROBE = {"name": "disc_vs_gen.digits_halves", "half": "probe"}

_STAGE_EXAMPLE = {"stages": [
    _ENCODER,
    {"kind": "disc_vs_gen.sample_complexity", "name": "curve", "features": "encoder",
     "data": _PROBE, "shots": [3, 5], "geometric": 0, "repeats": 2, "preprocess": "minmax"},
]}

_SIMULATION_EXAMPLE = {"stages": [
    {"kind": "disc_vs_gen.sample_complexity", "name": "curve",
     "data": {"name": "disc_vs_gen.gauss_sim", "classes": 2, "dim": 5, "pool_per_dim": 20,
              "num_test": 200},
     "geometric": 3, "repeats": 2,
     "generative": {"name": "disc_vs_gen.pooled_gnb"},
     "discriminative": {"name": "disc_vs_gen.logistic_regression", "c": 1.0},
     "sampler": {"name": "disc_vs_gen.subsample_m", "max_redraws": 100}},
]}

_METRIC_EXAMPLE = {"stages": [
    _ENCODER,
    {"kind": "evaluate", "name": "eval", "model": "encoder", "data": _PROBE,
     "metrics": [{"name": "disc_vs_gen.error_curve", "shots": [3], "geometric": 2, "repeats": 1}]},
]}


@hookimpl
def latentzoo_register_data(register):
    register("gauss_sim", f"{_P}.data:gauss_sim", config=f"{_P}.data:GaussSimConfig",
             doc="simulated K-class Gaussian mixture with shared 'easy'/'hard' Σ (Sec. 5.1)",
             example=_SIMULATION_EXAMPLE)
    register("digits_halves", f"{_P}.data:digits_halves", config=f"{_P}.data:DigitsHalvesConfig",
             doc="digits split into disjoint pre-training and NB-vs-LR halves", example=_STAGE_EXAMPLE)
    register("feature_file", f"{_P}.data:feature_file", config=f"{_P}.data:FeatureFileConfig",
             doc="stored features of a pretrained network (.npz or the official .npy pair)")


@hookimpl
def latentzoo_register_models(register):
    register("pooled_gnb", f"{_P}.classifiers:pooled_gaussian_nb",
             config=f"{_P}.classifiers:PooledGaussianNBConfig",
             doc="Gaussian naive Bayes with pooled diagonal variance (linear rule), incremental fit",
             example=_SIMULATION_EXAMPLE)
    register("logistic_regression", f"{_P}.classifiers:logistic_regression",
             config=f"{_P}.classifiers:LogisticRegressionConfig",
             doc="multinomial L2 logistic regression (sklearn lbfgs, C = 1)", aliases=("logreg",),
             example=_SIMULATION_EXAMPLE)


@hookimpl
def latentzoo_register_samplers(register):
    register("subsample_m", f"{_P}.subsample:SubsampleM", config=f"{_P}.subsample:SubsampleMConfig",
             doc="m points without replacement, redrawn until every class is present",
             example=_SIMULATION_EXAMPLE)


@hookimpl
def latentzoo_register_metrics(register):
    register("error_curve", f"{_P}.curves:error_curve", config=f"{_P}.curves:ErrorCurveConfig",
             doc="NB vs LR test error over training-set sizes m, m*(δ), on frozen features",
             example=_METRIC_EXAMPLE)


@hookimpl
def latentzoo_register_stages(register):
    register("sample_complexity", f"{_P}.stage:run_sample_complexity",
             config=f"{_P}.stage:SampleComplexityConfig",
             doc="fit NB and LR over a grid of training-set sizes on frozen features; error vs m figure",
             example=_STAGE_EXAMPLE)
