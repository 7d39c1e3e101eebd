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

from latentzoo_omat.attack import (Generator, GeneratorConfig, eval_mode, latent_attack, pixel_pgd,
                                   quantise)
from latentzoo_omat.data import load_real

__all__ = ["balanced_accuracy", "auroc", "AttackMetricConfig", "asr", "OnManifoldConfig",
           "on_manifold", "AttackPairsConfig", "attack_pairs", "attack_pair_values", "XGenConfig",
           "xgen", "gmm_fakes"]


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
class _LatentAttackFields(GeneratorConfig):
    lr: float = option(0.05, "Adam learning rate on z", gt=0)
    max_steps: int = option(30, "attack steps at most", gt=0)
    threshold: float = option(0.5, "success (and early stop): p_fake below this", gt=0, lt=1)
    project: bool = option(True, "re-project ‖z‖ = √d after each step")
    draw_seed: int = option(12345, "seed of the z_0 draws (the same in every process)")


@attrs.define(frozen=True, slots=False)
class AttackMetricConfig(_LatentAttackFields):
    num_latents: int = option(200, "fresh z_0 attacked", gt=0)
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


@attrs.frozen
class AttackPairsConfig(_LatentAttackFields):
    num_latents: int = option(8, "fixed seeded z_0, one column each", gt=0)
    epsilon: float = option(0.125, "pixel PGD: L∞ radius (1/16 of the [-1, 1] range)", gt=0)
    pgd_steps: int = option(10, "pixel PGD steps", gt=0)
    step_size: float = option(0.0, "pixel PGD α (0: ε/4)", ge=0)
    name: str = option("attack_pairs", "figure name (figures/<name>.png)")


ROW_LABELS = ("G(z₀)\nstandard fake", "G(z*)\nlatent attack", "|G(z*) − G(z₀)|",
              "PGD(G(z₀))\npixel attack", "|PGD − G(z₀)|")


def _p_fake(detector, x: torch.Tensor) -> torch.Tensor:
    with eval_mode(detector), torch.no_grad():
        return torch.sigmoid(detector(x).reshape(len(x)))


def attack_pair_values(evaluator, config: AttackPairsConfig, who: str = "omat.attack_pairs") -> dict:
    """The figure's tensors (on the CPU): z_0, the images G(z_0), G(z*), quantise(PGD(G(z_0))),
    p_fake of the evaluated detector for each, and the latent attack's steps and success."""
    detector = evaluator.model
    if detector is None:
        raise UserError(f"{who}: needs the detector to attack as the evaluate stage's model "
                        "(model = \"<detector stage>\")")
    z0, start, result = _attack(evaluator, config, who)
    with torch.no_grad():
        logits = detector(start[:1])
    if logits.numel() != 1:
        raise UserError(f"{who}: the stage's model must be a detector with one logit per image "
                        f"(omat.detector / omat.detector_probe); it gave shape {tuple(logits.shape)}")
    pgd = quantise(pixel_pgd(detector, start, config.epsilon, config.pgd_steps, config.step_size or None))
    return {"z0": z0.cpu(), "start": start.cpu(), "latent": result.images.cpu(), "pgd": pgd.cpu(),
            "p_start": _p_fake(detector, start).cpu(), "p_latent": result.p_fake.cpu(),
            "p_pgd": _p_fake(detector, pgd).cpu(), "steps": result.steps.cpu(),
            "success": result.success.cpu()}


def _draw_attack_pairs(values: dict, threshold: float, epsilon: float):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    start, latent, pgd = (values[k].reshape(-1, 8, 8).float() for k in ("start", "latent", "pgd"))
    diffs = ((latent - start).abs(), (pgd - start).abs())
    diff_max = max(1.0 / 8, max(float(d.max()) for d in diffs))   # one scale for both difference rows
    # images on the data range [-1, 1]; |Δ| on [0, diff_max] (at least one grey level)
    columns = len(start)
    figure, axes = plt.subplots(5, columns, figsize=(1.15 * columns + 2.0, 7.4), squeeze=False,
                                layout="constrained")
    rows = [(start, values["p_start"]), (latent, values["p_latent"]), (diffs[0], None),
            (pgd, values["p_pgd"]), (diffs[1], None)]
    for r, (images, p_fake) in enumerate(rows):
        is_diff = p_fake is None
        for c in range(columns):
            axis = axes[r, c]
            if is_diff:
                axis.imshow(images[c].numpy(), cmap="magma", vmin=0.0, vmax=diff_max)
                label = (f"{int(values['steps'][c])} steps" if r == 2
                         else f"mean {float(images[c].mean()):.3f}")
                axis.set_xlabel(label, fontsize=7)
            else:
                axis.imshow(images[c].numpy(), cmap="gray", vmin=-1.0, vmax=1.0)
                p = float(p_fake[c])
                axis.set_xlabel(f"p_fake {p:.3f}", fontsize=7, color="tab:green" if p < threshold else "black")
            axis.set_xticks([])
            axis.set_yticks([])
        axes[r, 0].set_ylabel(ROW_LABELS[r], fontsize=8)
        figure.colorbar(axes[r, -1].images[0], ax=list(axes[r]), location="right", shrink=0.9,
                        label="|Δ|" if is_diff else "pixel")
    for c in range(columns):
        axes[0, c].set_title(f"z₀ #{c}", fontsize=8)
    figure.suptitle(f"latent attack (on-manifold) vs pixel PGD (ε = {epsilon:g}) on the evaluated "
                    f"detector; green: p_fake < {threshold:g}", fontsize=9)
    return figure


def attack_pairs(config: AttackPairsConfig, ctx):
    def metric(evaluator) -> dict:
        values = attack_pair_values(evaluator, config)   # every process attacks (deterministic)
        if not evaluator.accelerator.is_main_process:    # one draws
            return {}
        return {"figures": {config.name: _draw_attack_pairs(values, config.threshold, config.epsilon)}}

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
