"""Metrics of the DiffuseVAE reproduction beside the core's Fréchet and sliced-Wasserstein distances.

- ``label_agreement`` (controllability, Sec. 4.1 of arXiv 2201.00308: z fixes the coarse content):
  draw x̂ = 2·Dec(z) − 1 for ``num_latents`` latents, refine each x̂ ``repeats`` times with fresh
  DDPM/DDIM noise, classify every sample with the core's fixed digits classifier
  (``latentzoo.builtin.frechet.feature_net``, the network whose penultimate features the Fréchet
  distance uses) and report the fraction of same-z pairs with the same predicted label. The
  unconditional baseline ignores x̂, so its agreement is Σ_c p_c², about 0.1 for balanced digits.
- ``memorization`` (the spec's fragility check): mean Euclidean distance from each sample to its
  nearest training digit, the same for held-out real digits (the reference level), and the
  Fréchet distance to the training split. A sample set that "beats" the test data by copying the
  training set shows a nearest-neighbour distance far below the reference.

Both draw from their own seeded generators, so every process computes the same value.
"""

from __future__ import annotations

import attrs
import torch
from latentzoo.builtin.frechet import feature_net, feature_statistics, frechet_distance
from latentzoo.config import option
from latentzoo.errors import UserError

__all__ = ["LabelAgreementConfig", "label_agreement", "pair_agreement", "MemorizationConfig",
           "memorization", "nearest_neighbor_distance"]


def pair_agreement(labels: torch.Tensor) -> float:
    """labels: (latents, repeats); fraction of the unordered same-row pairs with equal labels."""
    latents, repeats = labels.shape
    if repeats < 2:
        raise ValueError("agreement needs at least 2 repeats per latent")
    same = (labels[:, :, None] == labels[:, None, :]).float()
    pairs = repeats * (repeats - 1)  # ordered pairs off the diagonal
    return float((same.sum((1, 2)) - repeats).sum() / (latents * pairs))


@attrs.frozen
class LabelAgreementConfig:
    num_latents: int = option(200, "latents z drawn", gt=0)
    repeats: int = option(2, "refinements of each x̂ with fresh chain noise", ge=2)
    seed: int = option(0, "seed of the latents and of the chain noise")
    prefix: str = option("", "prefix of the reported name ('<prefix>label_agreement')")


def label_agreement(config: LabelAgreementConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        sampler = evaluator.artifacts.get("sampler")
        if sampler is None or not callable(getattr(sampler, "refine", None)) or evaluator.model is None:
            raise UserError("diffusevae.label_agreement refines fixed x̂ several times: use it in a "
                            "generate stage whose sampler is diffusevae.ddpm or diffusevae.ddim")
        model = evaluator.model
        generator = torch.Generator().manual_seed(config.seed)
        n, r = config.num_latents, config.repeats
        with torch.no_grad():
            x_hat, z = sampler.draw_condition(model, n, generator)
            if x_hat is not None:
                x_hat = x_hat.repeat_interleave(r, 0)
                z = z.repeat_interleave(r, 0)
            samples = (sampler.refine(model, x_hat, z, n * r, generator) + 1) / 2
            labels = feature_net()(samples.reshape(n * r, -1).float().cpu()).argmax(-1)
        return {config.prefix + "label_agreement": pair_agreement(labels.reshape(n, r))}

    return metric


def nearest_neighbor_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """For each row of ``a``, the Euclidean distance to its nearest row of ``b``."""
    return torch.cdist(a.double(), b.double()).min(dim=1).values


@attrs.frozen
class MemorizationConfig:
    max_samples: int = option(2000, "use at most this many samples (and real test digits)", gt=1)
    seed: int = option(0, "seed of the subsampling")
    prefix: str = option("", "prefix of the reported names")


def memorization(config: MemorizationConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        if evaluator.samples is None:
            raise UserError("diffusevae.memorization compares generated samples with the training "
                            "data: use it in a generate stage with data")
        train = evaluator.tensors("train")["x"].flatten(1)
        test = evaluator.tensors()["x"].flatten(1)
        fake = evaluator.samples.flatten(1)
        if fake.shape[1] != train.shape[1]:
            raise UserError(f"samples have {fake.shape[1]} values, the data {train.shape[1]}")
        generator = torch.Generator().manual_seed(config.seed)
        n = min(len(fake), len(test), config.max_samples)
        fake = fake[torch.randperm(len(fake), generator=generator)[:n]]
        test = test[torch.randperm(len(test), generator=generator)[:n]]
        m = min(n, len(train))
        train_subset = train[torch.randperm(len(train), generator=generator)[:m]]
        values = {
            "nn_distance_train": nearest_neighbor_distance(fake, train).mean().item(),
            "real_nn_distance_train": nearest_neighbor_distance(test, train).mean().item(),
            "train_frechet_distance": frechet_distance(*feature_statistics(fake[:m]),
                                                       *feature_statistics(train_subset)),
        }
        return {config.prefix + key: value for key, value in values.items()}

    return metric
