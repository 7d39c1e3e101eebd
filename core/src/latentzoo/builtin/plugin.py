"""Registrations of the builtin plugin: generic data, models, losses, metrics and stages."""

from latentzoo.hookspecs import hookimpl

_D = "latentzoo.builtin.datasets"
_M = "latentzoo.builtin.models"
_L = "latentzoo.builtin.losses"
_S = "latentzoo.builtin.samplers"
_E = "latentzoo.builtin.metrics"

# Tiny experiments the test kit runs (latentzoo.testing); also examples for users.
_DIGITS_TRAIN = {"kind": "train", "name": "classifier", "data": "builtin.digits",
                 "model": {"name": "builtin.mlp", "hidden": [32]}, "loss": "builtin.cross_entropy",
                 "steps": 3, "batch_size": 32}
CLASSIFY = {"stages": [_DIGITS_TRAIN | {"metrics": [
    {"name": "builtin.accuracy"}, {"name": "builtin.knn_accuracy", "k": 3},
    {"name": "builtin.linear_probe", "max_iter": 50}]}]}
PROBE = {"stages": [_DIGITS_TRAIN, {"kind": "evaluate", "name": "probe", "model": "classifier",
                                    "data": "builtin.digits",
                                    "metrics": [{"name": "builtin.linear_probe", "max_iter": 50}]}]}
CLUSTER = {"stages": [_DIGITS_TRAIN, {"kind": "evaluate", "name": "clusters", "model": "classifier",
                                      "data": "builtin.digits",
                                      "metrics": [{"name": "builtin.kmeans_clustering", "n_init": 1}]}]}
RECONSTRUCT = {"stages": [_DIGITS_TRAIN | {"model": {"name": "builtin.mlp", "hidden": [32], "out_dim": 64},
                                           "loss": {"name": "builtin.mse", "target": "x"}}]}
GENERATE_TOY = {"stages": [
    {"kind": "train", "name": "denoiser", "data": {"name": "builtin.toy2d", "num_train": 256, "num_test": 128},
     "model": {"name": "builtin.mlp", "hidden": [32], "out_dim": 2}, "loss": {"name": "builtin.mse", "target": "x"},
     "sampler": {"name": "builtin.gaussian_noise", "std": 0.1}, "steps": 3, "batch_size": 32},
    {"kind": "generate", "name": "samples", "model": "denoiser", "num_samples": 64, "grid": 64,
     "sampler": {"name": "builtin.gaussian_noise", "latent_dim": 2},
     "data": {"name": "builtin.toy2d", "num_train": 256, "num_test": 128},
     "metrics": [{"name": "builtin.sliced_wasserstein", "projections": 16}]}]}
GENERATE_DIGITS = {"stages": [RECONSTRUCT["stages"][0], {
    "kind": "generate", "name": "samples", "model": "classifier", "num_samples": 64, "grid": 16,
    "sampler": {"name": "builtin.gaussian_noise", "latent_dim": 64}, "data": "builtin.digits",
    "metrics": [{"name": "builtin.digits_frechet"}]}]}


@hookimpl
def latentzoo_register_data(register):
    register("digits", f"{_D}:digits", config=f"{_D}:DigitsConfig",
             doc="sklearn 8x8 digits, fixed stratified train/test split")
    register("mnist1d", f"{_D}:mnist1d", config=f"{_D}:Mnist1dConfig",
             doc="MNIST-1D: 40-sample 1-D signals of 10 digit templates, generated offline")
    register("toy2d", f"{_D}:toy2d", config=f"{_D}:Toy2dConfig",
             doc="2-D toys: 8-Gaussian ring, two moons, swiss roll")
    register("shapes", f"{_D}:shapes", config=f"{_D}:ShapesConfig",
             doc="dSprites-like images with known factors (shape, scale, orientation, x, y)")
    register("sequences", f"{_D}:sequences", config=f"{_D}:SequencesConfig",
             doc="sequence toy: noisy sinusoid windows, label = frequency class")


@hookimpl
def latentzoo_register_models(register):
    register("mlp", f"{_M}:mlp", config=f"{_M}:MLPConfig",
             doc="multilayer perceptron; embed() = last hidden layer")
    register("conv", f"{_M}:conv", config=f"{_M}:ConvConfig",
             doc="small conv net for image data; embed() = pooled features",
             example={"stages": [_DIGITS_TRAIN | {"data": {"name": "builtin.digits", "image": True},
                                                  "model": {"name": "builtin.conv", "channels": [8]}}]})
    register("residual_mlp", f"{_M}:residual_mlp", config=f"{_M}:ResidualMLPConfig",
             doc="residual MLP (pre-norm blocks); embed() = final features")


@hookimpl
def latentzoo_register_losses(register):
    register("cross_entropy", f"{_L}:CrossEntropy", config=f"{_L}:CrossEntropyConfig",
             doc="cross-entropy of model(x) against y",
             example=CLASSIFY)
    register("mse", f"{_L}:MSE", config=f"{_L}:MSEConfig",
             doc="mean squared error of model(x) against a batch key (y, or x to reconstruct)",
             example=RECONSTRUCT)


@hookimpl
def latentzoo_register_samplers(register):
    register("gaussian_noise", f"{_S}:GaussianNoise", config=f"{_S}:GaussianNoiseConfig",
             doc="adds Gaussian noise to x (training) / draws model(z), z ~ N(0, I) (generation)",
             example=GENERATE_TOY)


@hookimpl
def latentzoo_register_metrics(register):
    register("accuracy", f"{_E}:accuracy", config=f"{_E}:AccuracyConfig",
             doc="top-1 accuracy of argmax model(x)",
             example=CLASSIFY)
    register("knn_accuracy", f"{_E}:knn_accuracy", config=f"{_E}:KNNConfig",
             doc="k-nearest-neighbour accuracy of frozen representations (cosine, sklearn)",
             example=CLASSIFY)
    register("linear_probe", f"{_E}:linear_probe", config=f"{_E}:LinearProbeConfig",
             doc="logistic-regression probe accuracy on frozen representations (sklearn)",
             example=CLASSIFY)
    register("kmeans_clustering", f"{_E}:kmeans_clustering", config=f"{_E}:KMeansClusteringConfig",
             doc="k-means on frozen representations (or raw inputs): NMI and ARI against the labels (sklearn)",
             example=CLUSTER)
    register("sliced_wasserstein", f"{_E}:sliced_wasserstein", config=f"{_E}:SlicedWassersteinConfig",
             doc="sliced Wasserstein-2 distance between generated samples and real data",
             example=GENERATE_TOY)
    register("digits_frechet", "latentzoo.builtin.frechet:digits_frechet",
             config="latentzoo.builtin.frechet:DigitsFrechetConfig",
             doc="Fréchet distance of samples vs real digits in a fixed, shipped feature space",
             example=GENERATE_DIGITS)


@hookimpl
def latentzoo_register_stages(register):
    register("train", "latentzoo.training:run_train", config="latentzoo.experiment:TrainConfig",
             doc="the training loop: data, model, loss, optimiser, checkpoints",
             example=CLASSIFY)
    register("evaluate", "latentzoo.stages:run_evaluate", config="latentzoo.experiment:EvaluateConfig",
             doc="metrics on models of earlier stages",
             example=PROBE)
    register("generate", "latentzoo.stages:run_generate", config="latentzoo.experiment:GenerateConfig",
             doc="draw samples from a model, save a grid, score them",
             example=GENERATE_TOY)
