"""Registrations of the ``projection_head`` plugin (arXiv 2403.11391): names only, no heavy imports."""

from latentzoo import hookimpl

_P = "latentzoo_projection_head"
_SYNTHETIC = {"name": "projection_head.synthetic_features", "num_train": 256, "num_test": 128}
_LINEAR = {"name": "projection_head.linear_stack"}


def _synthetic_train(loss: dict | None = None, **extra) -> dict:
    stage = {"kind": "train", "name": "train", "data": _SYNTHETIC, "model": _LINEAR,
             "sampler": "projection_head.feature_views",
             "loss": loss or {"name": "projection_head.spectral_cl"},
             "steps": 3, "batch_size": 32, "optimizer": {"name": "adam", "lr": 1e-3}}
    return stage | extra


def _evaluate(data: dict, *metrics: dict) -> dict:
    return {"kind": "evaluate", "name": "eval", "model": "train", "data": data, "metrics": list(metrics)}


_POPULATION = _synthetic_train({"name": "projection_head.spectral_cl", "population": True},
                               sampler=None, optimizer={"name": "sgd", "lr": 0.05, "momentum": 0.0})
_POPULATION.pop("sampler")
_DIGITS_SIMCLR = {"kind": "train", "name": "train", "data": {"name": "builtin.digits"},
                  "model": {"name": "projection_head.fixed_reweight_head", "kappa": 1.05,
                            "encoder": {"name": "builtin.mlp", "hidden": [32, 16]}},
                  "sampler": "ssl.digits_twoview", "loss": {"name": "ssl.nt_xent", "temperature": 0.5},
                  "steps": 3, "batch_size": 32}


@hookimpl
def latentzoo_register_data(register):
    register("synthetic_features", f"{_P}.data:synthetic_features", config=f"{_P}.data:SyntheticFeaturesConfig",
             doc="x = Σ φ_i z_i e_i + σξ, Rademacher z; label sign(z_j); M, Σ in extras (Def. 3.1 stand-in)",
             example={"stages": [_synthetic_train()]})


@hookimpl
def latentzoo_register_samplers(register):
    register("feature_views", f"{_P}.data:FeatureViews", config=f"{_P}.data:FeatureViewsConfig",
             doc="two views of the same z: z_i resampled so that corr(z_i, z_i⁺) = 1 − p_i, fresh noise",
             example={"stages": [_synthetic_train()]})


@hookimpl
def latentzoo_register_models(register):
    register("linear_stack", f"{_P}.models:linear_stack", config=f"{_P}.models:LinearStackConfig",
             doc="deep linear net W_L⋯W_1 (no biases); embed = W_1 x (encoder), forward = head output",
             example={"stages": [_synthetic_train()]})
    register("fixed_reweight_head", f"{_P}.models:fixed_reweight_head",
             config=f"{_P}.models:FixedReweightHeadConfig",
             doc="encoder + fixed head diag(1, κ⁻¹, κ⁻², …) (non-learned; κ = 1: no head)",
             example={"stages": [_DIGITS_SIMCLR]})


@hookimpl
def latentzoo_register_losses(register):
    register("spectral_cl", f"{_P}.losses:SpectralCL", config=f"{_P}.losses:SpectralCLConfig",
             doc="spectral contrastive loss (HaoChen 2021), minibatch or exact population form, + (λ/2)Σ‖W‖²",
             example={"stages": [_POPULATION]})


@hookimpl
def latentzoo_register_metrics(register):
    register("feature_weights", f"{_P}.metrics:feature_weights", config=f"{_P}.metrics:FeatureWeightsConfig",
             doc="w_i^(ℓ) = ‖W_ℓ⋯W_1 e_i‖ per layer: spread, root-law error, zeroed features, balance",
             example={"stages": [_POPULATION, _evaluate(_SYNTHETIC, {"name": "projection_head.feature_weights"})]})
    register("layer_probe", f"{_P}.metrics:layer_probe", config=f"{_P}.metrics:LayerProbeConfig",
             doc="k-NN / ridge / logistic probe on h = embed(x) (pre) and z = model(x) (post), gap",
             example={"stages": [_synthetic_train(),
                                 _evaluate(_SYNTHETIC, {"name": "projection_head.layer_probe", "num_labels": 64})]})
