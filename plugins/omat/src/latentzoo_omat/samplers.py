"""Training-time samplers that put adversarial fakes into the detector's batches (OMAT).

On-Manifold Adversarial Training (arXiv 2506.00874, Sec. 4): attack the (baseline) detector in
the generator's latent space, label the resulting images fake, add them to the real images and
standard fakes, and retrain the detector from scratch, with no architecture change.

Here the stage's data is ``omat.detector_set`` (extra fake slots with their latents z_0), the
frozen generator arrives as ``inputs = { generator = "<stage>" }`` and the detector to attack as
``inputs = { target = "<stage>" }``. At the first batch the sampler attacks the target once on
every extra slot's z_0 (deterministic, so every process computes the same set) and from then on
swaps each extra slot's image for its adversarial version:

- ``omat.latent_attack``: G(z*), z* = argmin_z BCE(D(G(z)), 0) by Adam with norm projection
  (``attack.latent_attack``): on-manifold, reproducible from z*.
- ``omat.pixel_pgd``: quantise(PGD_ε(G(z_0))) (``attack.pixel_pgd``): off-manifold baseline.

Labels stay 1 (fake). ``self.summary`` keeps the attack's success rate on the target.
"""

from __future__ import annotations

import abc

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError

from latentzoo_omat.attack import Generator, GeneratorConfig, latent_attack, pixel_pgd, quantise
from latentzoo_omat.data import EXTRA

__all__ = ["LatentAttackConfig", "PixelPGDConfig", "AdversarialFakes", "LatentAttackSampler",
           "PixelPGDSampler"]


@attrs.define(frozen=True, slots=False)
class _TargetConfig(GeneratorConfig):
    target: str = option("target", "artifact name of the frozen detector to attack")
    batch: int = option(200, "latents attacked at once", gt=0)


@attrs.frozen
class LatentAttackConfig(_TargetConfig):
    lr: float = option(0.05, "Adam learning rate on z", gt=0)
    max_steps: int = option(30, "attack steps at most (early stop at p_fake < threshold)", gt=0)
    threshold: float = option(0.5, "success: p_fake below this", gt=0, lt=1)
    project: bool = option(True, "re-project ‖z‖ = √d after each step")


@attrs.frozen
class PixelPGDConfig(_TargetConfig):
    epsilon: float = option(0.125, "L∞ radius (1/16 of the [-1, 1] range)", gt=0)
    steps: int = option(10, "PGD steps", gt=0)
    step_size: float = option(0.0, "α (0: ε/4)", ge=0)


class AdversarialFakes(abc.ABC):
    """``sampler(batch)``: extra fake slots (``slot == 2``) get their adversarial images."""

    def __init__(self, config, ctx):
        self.config = config
        artifacts = ctx.artifacts if ctx is not None else {}
        for key in (config.generator, config.target):
            if key not in artifacts:
                raise UserError(f"needs the artifact '{key}': give the stage inputs = {{ {key} = "
                                f"\"<stage>\" }} (artifacts: {', '.join(artifacts) or 'none'})")
        if ctx.splits is None or "z" not in ctx.splits.split("train"):
            raise UserError("needs data with latents per row (data = omat.detector_set)")
        train = ctx.splits.split("train")
        self.rows = torch.nonzero(train["slot"] == EXTRA).flatten()
        self.z0 = train["z"][self.rows]
        self.generator = Generator(artifacts[config.generator].eval(), config)
        self.target = artifacts[config.target]
        for p in self.target.parameters():
            p.requires_grad_(False)
        self.table: torch.Tensor | None = None  # row -> adversarial image
        self.summary: dict[str, float] = {}

    @abc.abstractmethod
    def attack(self, z0: torch.Tensor) -> torch.Tensor:
        """Implemented by each subclass."""

    def _build(self, like: torch.Tensor) -> None:
        size = int(self.rows.max()) + 1 if len(self.rows) else 0
        self.table = torch.zeros(size, like.shape[-1], dtype=like.dtype)
        if len(self.rows):
            images = torch.cat([self.attack(chunk) for chunk in self.z0.split(self.config.batch)])
            self.table[self.rows] = images.to(self.table)
        self.table = self.table.to(like.device)

    def __call__(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if self.table is None:
            self._build(batch["x"])
        extra = batch["slot"] == EXTRA
        if not bool(extra.any()):
            return batch
        x = batch["x"].clone()
        x[extra] = self.table[batch["index"][extra]]
        return {**batch, "x": x}


class LatentAttackSampler(AdversarialFakes):
    """On-manifold fakes G(z*) from the latent attack (the OMAT set)."""

    def attack(self, z0):
        c = self.config
        result = latent_attack(self.generator, self.target, z0, c.lr, c.max_steps, c.threshold, c.project)
        n = self.summary.get("count", 0.0)
        self.summary = {"count": n + len(z0),
                        "success": self.summary.get("success", 0.0) + float(result.success.sum())}
        return result.images


class PixelPGDSampler(AdversarialFakes):
    """Off-manifold fakes quantise(PGD(G(z_0))) (the pixel-attack contrast)."""

    def attack(self, z0):
        c = self.config
        with torch.no_grad():
            x0 = self.generator(z0)
        return quantise(pixel_pgd(self.target, x0, c.epsilon, c.steps, c.step_size or None))
