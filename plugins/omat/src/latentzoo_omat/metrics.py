"""Metrics of OMAT (arXiv 2506.00874): attack success, on-manifold checks, cross-generator AUROC.

- ``omat.asr``: attack success rate, the share of fresh z_0 ~ N(0, I) whose latent attack
  (``attack.latent_attack``) on the evaluated detector reaches p_fake < 0.5 within 30 steps,
  and the mean number of steps taken.
- ``omat.on_manifold``: for the same attacks, the share of adversarial images G(z*) that a
  separate digit classifier assigns to the class it gave G(z_0) (the generator here is
  unconditional: the class of G(z_0) stands for the paper's fixed prompt), and the mean
  ‖z* − z_0‖/√d.
- ``omat.xgen``: detection of fakes from generators the detector never saw, each against the
  real test digits: AUROC (threshold-free; ``sklearn.metrics.roc_auc_score``) and balanced
  accuracy at p_fake = 0.5, per unseen generator and their mean (``xgen_auroc``,
  ``xgen_balanced_accuracy``), plus in-distribution accuracy on fresh fakes of the training
  generator (``id_accuracy``, ``id_auroc``, DDIM with the training setting). The reals are the
  stage's test split (``omat.real_digits``; rows with y = 1 are dropped). Unseen generators, every sample quantised like the
  real digits:
    B: a second DDPM (another width and seed: the stage ``generator_b``) sampled with DDIM, 25 steps;
    S: the training generator with a held-out sampler (ancestral DDPM, all T steps);
    D: class-wise Gaussian mixtures in the PCA-20 space of the real training digits.
"""

from __future__ import annotations

import math

import attrs
import numpy as np
import torch
from latentzoo.config import option
from latentzoo.errors import UserError

from latentzoo_omat.attack import Generator, GeneratorConfig, latent_attack, quantise
from latentzoo_omat.data import load_real

__all__ = ["balanced_accuracy", "auroc", "AttackMetricConfig", "asr", "OnManifoldConfig",
           "on_manifold", "XGenConfig", "xgen", "gmm_fakes"]


def balanced_accuracy(scores: torch.Tensor, labels: torch.Tensor, threshold: float = 0.0) -> float:
    """(TPR + TNR)/2 with prediction "fake" where score > threshold (labels 1 fake, 0 real)."""
    pred = scores > threshold
    positive = labels.bool()
    tpr = (pred & positive).sum().item() / max(1, positive.sum().item())
    tnr = (~pred & ~positive).sum().item() / max(1, (~positive).sum().item())
    return 0.5 * (tpr + tnr)


def auroc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels.numpy(), scores.numpy()))


def _model(evaluator, name: str, who: str):
    if name not in evaluator.models:
        raise UserError(f"{who}: needs the model of stage '{name}': list it in the evaluate "
                        f"stage's models (models: {', '.join(evaluator.models) or 'none'})")
    return evaluator.models[name]


# ---------------------------------------------------------------------------------------------
# attack success and on-manifold checks
# ---------------------------------------------------------------------------------------------


@attrs.define(frozen=True, slots=False)
class AttackMetricConfig(GeneratorConfig):
    num_latents: int = option(200, "fresh z_0 attacked", gt=0)
    lr: float = option(0.05, "Adam learning rate on z", gt=0)
    max_steps: int = option(30, "attack steps at most", gt=0)
    threshold: float = option(0.5, "success: p_fake below this", gt=0, lt=1)
    project: bool = option(True, "re-project ‖z‖ = √d after each step")
    draw_seed: int = option(12345, "seed of the z_0 draws (the same in every process)")
    prefix: str = option("", "prefix of the reported names")


def _attack(evaluator, config: AttackMetricConfig, who: str):
    """The attack of ``config`` on ``evaluator.model``, computed once per evaluator."""
    key = (config.generator, config.timesteps, config.schedule, config.sampling_steps, config.clip,
           config.num_latents, config.lr, config.max_steps, config.threshold, config.project,
           config.draw_seed)
    cache = evaluator.__dict__.setdefault("_omat_cache", {})
    if key not in cache:
        generator = Generator(_model(evaluator, config.generator, who).eval(), config)
        z0 = torch.randn(config.num_latents, 64,
                         generator=torch.Generator().manual_seed(config.draw_seed)).to(evaluator.device)
        result = latent_attack(generator, evaluator.model, z0, config.lr, config.max_steps,
                               config.threshold, config.project)
        with torch.no_grad():
            start = generator(z0)
        cache[key] = (z0, start, result)
    return cache[key]


@attrs.frozen
class AsrConfig(AttackMetricConfig):
    pass


def asr(config: AsrConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        _, _, result = _attack(evaluator, config, "omat.asr")
        return {f"{config.prefix}asr": result.success.float().mean().item(),
                f"{config.prefix}attack_steps": result.steps.float().mean().item()}

    return metric


@attrs.frozen
class OnManifoldConfig(AttackMetricConfig):
    classifier: str = option("classifier", "stage name of the separate digit classifier")


def on_manifold(config: OnManifoldConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        z0, start, result = _attack(evaluator, config, "omat.on_manifold")
        classifier = _model(evaluator, config.classifier, "omat.on_manifold").eval()
        with torch.no_grad():
            before = classifier(start).argmax(-1)
            after = classifier(result.images).argmax(-1)
        success = result.success
        agree = (before == after)[success].float()
        shift = (result.z - z0).flatten(1).norm(dim=1) / math.sqrt(z0[0].numel())
        return {f"{config.prefix}class_agreement": agree.mean().item() if len(agree) else float("nan"),
                f"{config.prefix}latent_shift": shift[success].mean().item() if bool(success.any()) else 0.0,
                f"{config.prefix}pixel_change": (result.images - start).abs().mean().item()}

    return metric


# ---------------------------------------------------------------------------------------------
# cross-generator detection
# ---------------------------------------------------------------------------------------------


def gmm_fakes(num: int, components: int = 3, pca_dim: int = 20, seed: int = 0) -> torch.Tensor:
    """Class-wise Gaussian mixtures in the PCA space of the real training digits, decoded, quantised."""
    from sklearn.decomposition import PCA
    from sklearn.mixture import GaussianMixture

    real = load_real()["train"]
    x, y = real["x"].numpy().astype(np.float64), real["y"].numpy()
    pca = PCA(pca_dim, random_state=seed).fit(x)
    codes = pca.transform(x)
    per_class = np.full(10, num // 10)
    per_class[: num % 10] += 1
    out = []
    for label in range(10):
        gmm = GaussianMixture(components, covariance_type="full", random_state=seed + label)
        gmm.fit(codes[y == label])
        sample, _ = gmm.sample(int(per_class[label]))
        out.append(pca.inverse_transform(sample))
    return quantise(torch.from_numpy(np.concatenate(out)).float())


@torch.no_grad()
def _contrib_samples(model, sampler_name: str, steps: int, timesteps: int, schedule: str,
                     clip: float, num: int, seed: int) -> torch.Tensor:
    """Samples of the shared samplers of latentzoo-diffusion, with a fixed seed, quantised."""
    from latentzoo_diffusion.samplers import DDIMConfig, DDIMSampler, DDPMConfig, DDPMSampler

    if sampler_name == "ddim":
        sampler = DDIMSampler(DDIMConfig(steps=steps, timesteps=timesteps, schedule=schedule,
                                         clip=clip, shape=(64,)))
    else:
        sampler = DDPMSampler(DDPMConfig(steps=steps, timesteps=timesteps, schedule=schedule, shape=(64,)))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return quantise(sampler.sample(model.eval(), num).cpu())


@attrs.frozen
class XGenConfig(GeneratorConfig):
    generator_b: str = option("generator_b", "stage name of the held-out DDPM (B)")
    b_steps: int = option(25, "DDIM steps of generator B", gt=0)
    b_timesteps: int = option(100, "T of generator B's chain", gt=1)
    gmm_components: int = option(3, "mixture components per class (D)", gt=0)
    pca_dim: int = option(20, "PCA dimension of the mixtures (D)", gt=0, le=64)
    unseen: tuple[str, ...] = option(("B", "S", "D"), "unseen generators averaged in xgen_* (B, S, D)")
    draw_seed: int = option(777, "seed of the unseen generators' draws")


def xgen(config: XGenConfig, ctx):
    unknown = sorted(set(config.unseen) - {"B", "S", "D"})
    if unknown or not config.unseen:
        raise ValueError(f"unseen must be a non-empty list of 'B', 'S', 'D', found {list(config.unseen)}")
    def metric(evaluator) -> dict[str, float]:
        tensors = evaluator.tensors("test")
        real_scores = evaluator.predict(split="test").reshape(-1)
        if "y" in tensors:  # keep the reals only (a detector_set test split also holds fakes)
            real_scores = real_scores[tensors["y"].reshape(-1) < 0.5]
        n = len(real_scores)
        model_a = _model(evaluator, config.generator, "omat.xgen")
        with torch.no_grad():
            z = torch.randn(n, 64, generator=torch.Generator().manual_seed(config.draw_seed + 2))
            id_fakes = Generator(model_a.eval(), config)(z.to(evaluator.device)).cpu()
        id_scores = evaluator.predict(tensors={"x": id_fakes}).reshape(-1)
        s = torch.cat([real_scores, id_scores])
        y = torch.cat([torch.zeros(n), torch.ones(n)])
        values = {"id_accuracy": ((s > 0).float() == y).float().mean().item(), "id_auroc": auroc(s, y)}
        fakes = {}
        if "B" in config.unseen:
            model_b = _model(evaluator, config.generator_b, "omat.xgen")
            fakes["B"] = _contrib_samples(model_b, "ddim", config.b_steps, config.b_timesteps,
                                          config.schedule, config.clip, n, config.draw_seed)
        if "S" in config.unseen:
            fakes["S"] = _contrib_samples(model_a, "ddpm", config.timesteps, config.timesteps,
                                          config.schedule, config.clip, n, config.draw_seed + 1)
        if "D" in config.unseen:
            fakes["D"] = gmm_fakes(n, config.gmm_components, config.pca_dim, config.draw_seed)
        aurocs, baccs = [], []
        for name, images in fakes.items():
            fake_scores = evaluator.predict(tensors={"x": images}).reshape(-1)
            s = torch.cat([real_scores, fake_scores])
            y = torch.cat([torch.zeros(n), torch.ones(len(fake_scores))])
            values[f"auroc_{name}"] = auroc(s, y)
            values[f"balanced_accuracy_{name}"] = balanced_accuracy(s, y)
            aurocs.append(values[f"auroc_{name}"])
            baccs.append(values[f"balanced_accuracy_{name}"])
        values["xgen_auroc"] = float(np.mean(aurocs))
        values["xgen_balanced_accuracy"] = float(np.mean(baccs))
        return values

    return metric
