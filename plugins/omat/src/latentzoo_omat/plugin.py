"""Registrations of the omat plugin (OMAT, arXiv 2506.00874): names and lazy targets only."""

from latentzoo import hookimpl

_P = "latentzoo_omat"

# Tiny experiments the test kit runs: generator -> baseline detector -> OMAT detector -> eval.
_GEN = {"kind": "train", "name": "generator", "data": {"name": "omat.real_digits", "labels": "class"},
        "model": {"name": "diffusion.mlp_denoiser", "width": 16, "depth": 1, "time_dim": 8},
        "loss": {"name": "diffusion.ddpm_loss", "timesteps": 20}, "steps": 3, "batch_size": 32}
_GEN_B = _GEN | {"name": "generator_b"}
_CLS = {"kind": "train", "name": "classifier", "data": {"name": "omat.real_digits", "labels": "class"},
        "model": {"name": "builtin.mlp", "hidden": [16]}, "loss": "builtin.cross_entropy",
        "steps": 3, "batch_size": 32}
_SET = {"name": "omat.detector_set", "timesteps": 20, "sampling_steps": 2, "num_fakes": 40,
        "num_test_fakes": 40}
_DET0 = {"kind": "train", "name": "detector0", "inputs": {"generator": "generator"}, "data": _SET,
         "model": {"name": "omat.detector", "channels": [4, 4]}, "loss": "omat.bce",
         "steps": 3, "batch_size": 32}


def _adversarial(sampler: dict) -> dict:
    return _DET0 | {"name": "detector", "inputs": {"generator": "generator", "target": "detector0"},
                    "data": _SET | {"num_extra": 40},
                    "sampler": {"timesteps": 20, "sampling_steps": 2} | sampler}


_ATTACK = {"timesteps": 20, "sampling_steps": 2, "num_latents": 8, "max_steps": 2}
_EVAL = {"kind": "evaluate", "name": "eval", "model": "detector0",
         "models": ["generator", "generator_b", "classifier"], "data": "omat.real_digits",
         "metrics": [{"name": "omat.xgen", "timesteps": 20, "sampling_steps": 2, "b_timesteps": 20,
                      "b_steps": 2, "pca_dim": 4, "gmm_components": 1},
                     {"name": "omat.asr"} | _ATTACK, {"name": "omat.on_manifold"} | _ATTACK]}
_EVAL_EXAMPLE = {"stages": [_GEN, _GEN_B, _CLS, _DET0, _EVAL]}
_PAIRS_EXAMPLE = {"stages": [_GEN, _DET0, {
    "kind": "evaluate", "name": "eval0", "model": "detector0", "models": ["generator"],
    "data": "omat.real_digits",
    "metrics": [{"name": "omat.attack_pairs", "timesteps": 20, "sampling_steps": 2, "num_latents": 4,
                 "max_steps": 2, "pgd_steps": 2}]}]}
_LATENT_EXAMPLE = {"stages": [_GEN, _DET0, _adversarial({"name": "omat.latent_attack", "max_steps": 2})]}
_PGD_EXAMPLE = {"stages": [_GEN, _DET0, _adversarial({"name": "omat.pixel_pgd", "steps": 2})]}


@hookimpl
def latentzoo_register_data(register):
    register("real_digits", f"{_P}.data:real_digits", config=f"{_P}.data:RealDigitsConfig",
             doc="sklearn digits in [-1, 1] (17 grey levels), y = 0 (real) or the digit class",
             example={"stages": [_GEN]})
    register("detector_set", f"{_P}.data:detector_set", config=f"{_P}.data:DetectorSetConfig",
             doc="OMAT training set: reals (0), quantised fakes G(z) of the 'generator' artifact (1), "
                 "extra fake slots with their z for adversarial fakes",
             example={"stages": [_GEN, _DET0]})


@hookimpl
def latentzoo_register_models(register):
    register("detector", f"{_P}.models:detector", config=f"{_P}.models:DetectorConfig",
             doc="small CNN real/fake detector, one logit (ResNet-50 analogue)",
             example={"stages": [_GEN, _DET0]})
    register("detector_probe", f"{_P}.models:detector_probe", config=f"{_P}.models:ProbeConfig",
             doc="frozen random conv features + trainable rank-r head (CLIP+LoRA analogue)",
             example={"stages": [_GEN, _DET0 | {"model": {"name": "omat.detector_probe", "channels": 8}}]})


@hookimpl
def latentzoo_register_losses(register):
    register("bce", f"{_P}.losses:DetectorBCE", config=f"{_P}.losses:BCEConfig",
             doc="BCE(logit, y), y = 0 real, 1 fake", example={"stages": [_GEN, _DET0]})


@hookimpl
def latentzoo_register_samplers(register):
    register("latent_attack", f"{_P}.samplers:LatentAttackSampler", config=f"{_P}.samplers:LatentAttackConfig",
             doc="OMAT: extra fakes become G(z*), z* = on-manifold latent attack on the 'target' detector",
             example=_LATENT_EXAMPLE)
    register("pixel_pgd", f"{_P}.samplers:PixelPGDSampler", config=f"{_P}.samplers:PixelPGDConfig",
             doc="baseline: extra fakes become L-inf pixel-PGD images of G(z0) against the 'target' detector",
             example=_PGD_EXAMPLE)


@hookimpl
def latentzoo_register_metrics(register):
    register("asr", f"{_P}.metrics:asr", config=f"{_P}.metrics:AsrConfig",
             doc="latent attack success rate (p_fake < 0.5 within max_steps) on the evaluated detector",
             example=_EVAL_EXAMPLE)
    register("on_manifold", f"{_P}.metrics:on_manifold", config=f"{_P}.metrics:OnManifoldConfig",
             doc="class agreement of a separate classifier on G(z*) vs G(z0), mean ||z*-z0||/sqrt(d)",
             example=_EVAL_EXAMPLE)
    register("attack_pairs", f"{_P}.metrics:attack_pairs", config=f"{_P}.metrics:AttackPairsConfig",
             doc="figure: per seeded z0, G(z0), G(z*) after the latent attack, |G(z*)-G(z0)|, the pixel-PGD "
                 "image and its difference, with the evaluated detector's p_fake under each image",
             example=_PAIRS_EXAMPLE)
    register("xgen", f"{_P}.metrics:xgen", config=f"{_P}.metrics:XGenConfig",
             doc="AUROC / balanced accuracy of real vs unseen generators (B: other DDPM, S: other "
                 "sampler, D: class-wise PCA-GMM), mean; in-distribution accuracy",
             example=_EVAL_EXAMPLE)
