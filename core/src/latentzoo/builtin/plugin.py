"""Registrations of the builtin plugin: generic data, models, losses, metrics and stages."""

from latentzoo.hookspecs import hookimpl

_D = "latentzoo.builtin.datasets"
_M = "latentzoo.builtin.models"
_L = "latentzoo.builtin.losses"
_S = "latentzoo.builtin.samplers"
_E = "latentzoo.builtin.metrics"


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
             doc="small conv net for image data; embed() = pooled features")
    register("residual_mlp", f"{_M}:residual_mlp", config=f"{_M}:ResidualMLPConfig",
             doc="residual MLP (pre-norm blocks); embed() = final features")


@hookimpl
def latentzoo_register_losses(register):
    register("cross_entropy", f"{_L}:CrossEntropy", config=f"{_L}:CrossEntropyConfig",
             doc="cross-entropy of model(x) against y")
    register("mse", f"{_L}:MSE", config=f"{_L}:MSEConfig",
             doc="mean squared error of model(x) against a batch key (y, or x to reconstruct)")


@hookimpl
def latentzoo_register_samplers(register):
    register("gaussian_noise", f"{_S}:GaussianNoise", config=f"{_S}:GaussianNoiseConfig",
             doc="adds Gaussian noise to x (training) / draws model(z), z ~ N(0, I) (generation)")


@hookimpl
def latentzoo_register_metrics(register):
    register("accuracy", f"{_E}:accuracy", config=f"{_E}:AccuracyConfig",
             doc="top-1 accuracy of argmax model(x)")
    register("knn_accuracy", f"{_E}:knn_accuracy", config=f"{_E}:KNNConfig",
             doc="k-nearest-neighbour accuracy of frozen representations (cosine, sklearn)")
    register("linear_probe", f"{_E}:linear_probe", config=f"{_E}:LinearProbeConfig",
             doc="logistic-regression probe accuracy on frozen representations (sklearn)")
    register("sliced_wasserstein", f"{_E}:sliced_wasserstein", config=f"{_E}:SlicedWassersteinConfig",
             doc="sliced Wasserstein-2 distance between generated samples and real data")
    register("digits_frechet", "latentzoo.builtin.frechet:digits_frechet",
             config="latentzoo.builtin.frechet:DigitsFrechetConfig",
             doc="Fréchet distance of samples vs real digits in a fixed, shipped feature space")


@hookimpl
def latentzoo_register_stages(register):
    register("train", "latentzoo.training:run_train", config="latentzoo.experiment:TrainConfig",
             doc="the training loop: data, model, loss, optimiser, checkpoints")
    register("evaluate", "latentzoo.stages:run_evaluate", config="latentzoo.experiment:EvaluateConfig",
             doc="metrics on models of earlier stages")
    register("generate", "latentzoo.stages:run_generate", config="latentzoo.experiment:GenerateConfig",
             doc="draw samples from a model, save a grid, score them")
