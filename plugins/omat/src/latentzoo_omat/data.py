"""Real digits and the detector's real-vs-generated training set (OMAT, arXiv 2506.00874).

- ``omat.real_digits``: sklearn's 8x8 digits, integers 0..16 mapped to v/8 − 1 ∈ [−1, 1]
  (17 grey levels), as flat 64-vectors; ``labels = "real"`` gives y = 0 (the detector's "real"),
  ``labels = "class"`` the digit class (to train the generator or the on-manifold classifier).
- ``omat.detector_set`` (the spec's ``build_set``): reals (y = 0), ``num_fakes`` standard fakes
  G(z), z ~ N(0, I), of the frozen generator ``inputs = { generator = "<stage>" }`` (y = 1), and
  ``num_extra`` extra fake slots (y = 1) that keep their z. The extra slots hold standard
  fakes (the "more data" control); a training-time sampler (``omat.latent_attack``,
  ``omat.pixel_pgd``) replaces them by adversarial fakes, so with ``num_extra = num_fakes``
  adversarial fakes are 50% of all fakes, as in the paper's OMAT set. Every fake is clipped and
  quantised to the real digits' 17 levels (otherwise the detector learns the quantisation).
  Keys: ``x``, ``y`` (float), ``z`` (latent; 0 for reals), ``slot`` (0 real, 1 standard fake,
  2 extra fake), ``index`` (row). The test split is the real test digits and ``num_test_fakes``
  fresh fakes (in-distribution detection).
"""

from __future__ import annotations

import attrs
import torch
from latentzoo.builtin.datasets import DigitsConfig, digits
from latentzoo.config import option
from latentzoo.data import DataInfo, DataSplits
from latentzoo.errors import MissingDataError

from latentzoo_omat.attack import Generator, GeneratorConfig, quantise

__all__ = ["RealDigitsConfig", "real_digits", "DetectorSetConfig", "detector_set", "load_real",
           "REAL", "STANDARD", "EXTRA"]

REAL, STANDARD, EXTRA = 0, 1, 2


def load_real(split_seed: int = 0) -> dict[str, dict[str, torch.Tensor]]:
    """Train/test splits of the digits in [−1, 1] with class labels (the core's fixed split)."""
    splits = digits(DigitsConfig(split_seed=split_seed), None).splits
    return {name: {"x": t["x"] * 2 - 1, "y": t["y"]} for name, t in splits.items()}


@attrs.frozen
class RealDigitsConfig:
    labels: str = option("real", "y = 0 for every image (real) or the digit class", choices=("real", "class"))
    split_seed: int = option(0, "seed of the core's fixed stratified split")


def real_digits(config: RealDigitsConfig, ctx) -> DataSplits:
    splits = load_real(config.split_seed)
    if config.labels == "real":
        splits = {name: {"x": t["x"], "y": torch.zeros(len(t["x"]))} for name, t in splits.items()}
    return DataSplits(splits, DataInfo(input_shape=(64,), num_classes=2 if config.labels == "real" else 10),
                      name="omat.real_digits")


@attrs.frozen
class DetectorSetConfig(GeneratorConfig):
    num_fakes: int = option(400, "standard fakes G(z) in the training split", gt=0)
    num_extra: int = option(0, "extra fake slots (adversarial under a training sampler)", ge=0)
    num_test_fakes: int = option(599, "fresh fakes in the test split", gt=0)
    batch: int = option(500, "generation batch size", gt=0)


@torch.no_grad()
def _generate(generate: Generator, z: torch.Tensor, batch: int) -> torch.Tensor:
    return torch.cat([quantise(generate.raw(chunk)) for chunk in z.split(batch)])


def detector_set(config: DetectorSetConfig, ctx) -> DataSplits:
    artifacts = getattr(ctx, "artifacts", None) or {}
    if config.generator not in artifacts:
        # MissingDataError (a UserError): the fakes cannot exist without the generator stage
        raise MissingDataError(f"omat.detector_set needs the generator as an artifact: give the stage "
                        f"inputs = {{ {config.generator} = \"<generator stage>\" }} "
                        f"(artifacts: {', '.join(artifacts) or 'none'})")
    model = artifacts[config.generator].eval()
    generate = Generator(model, config)
    real = load_real()
    draws = torch.Generator().manual_seed(10_007 * (ctx.seed + 1))
    num_train_fakes = config.num_fakes + config.num_extra
    z_train = torch.randn(num_train_fakes, 64, generator=draws)
    z_test = torch.randn(config.num_test_fakes, 64, generator=draws)
    fakes_train = _generate(generate, z_train, config.batch)
    fakes_test = _generate(generate, z_test, config.batch)

    def assemble(x_real, fakes, z, extra):
        n_real, n_fake = len(x_real), len(fakes)
        slot = torch.cat([torch.full((n_real,), REAL), torch.full((n_fake - extra,), STANDARD),
                          torch.full((extra,), EXTRA)])
        x = torch.cat([x_real, fakes])
        return {"x": x, "y": (slot > REAL).float(),
                "z": torch.cat([torch.zeros(n_real, 64), z]), "slot": slot,
                "index": torch.arange(len(x))}

    splits = {"train": assemble(real["train"]["x"], fakes_train, z_train, config.num_extra),
              "test": assemble(real["test"]["x"], fakes_test, z_test, 0)}
    return DataSplits(splits, DataInfo(input_shape=(64,), num_classes=2), name="omat.detector_set")
