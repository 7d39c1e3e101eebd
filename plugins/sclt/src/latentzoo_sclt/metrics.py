"""sLCT's evaluation metrics at digits scale.

- ``sclt.latent_swd``: sliced Wasserstein distance (SWD, 128 random directions) between the
  standardised latents of generated digits and of held-out real digits, both encoded by the
  stage-1 autoencoder (the core's :func:`sliced_wasserstein_distance`, equal sample counts).
- ``sclt.training_stats``: what the loss recorded in the consistency model's buffers during
  training (claim 4): mean ‖x − n‖² of the training pairs, and mean and std across steps of
  the batch L_CT within the last curriculum stage (fixed N and c).
The digits Fréchet distance is the core's ``builtin.digits_frechet``.
"""

from __future__ import annotations

import attrs
import torch
from latentzoo.builtin.metrics import sliced_wasserstein_distance
from latentzoo.config import option
from latentzoo.errors import UserError

from latentzoo_sclt.autoencoder import LatentCodec

__all__ = ["LatentSWDConfig", "latent_swd", "TrainingStatsConfig", "training_stats"]


@attrs.frozen
class LatentSWDConfig:
    projections: int = option(128, "random directions", gt=0)
    max_samples: int = option(2000, "compare at most this many samples of each set", gt=1)
    seed: int = option(0, "seed of the directions and the subsampling")
    autoencoder: str = option("autoencoder", "artifact key of the stage-1 autoencoder")
    sigma_data: float = option(0.5, "σ_d of the standardised latents", gt=0)
    prefix: str = option("", "prefix of the reported name ('<prefix>latent_swd')")


def latent_swd(config: LatentSWDConfig, ctx):
    model = (ctx.artifacts if ctx is not None else {}).get(config.autoencoder)
    if model is None:
        raise UserError(f"sclt.latent_swd needs the autoencoder artifact '{config.autoencoder}' "
                        "(add it to the generate stage's inputs)")

    def metric(evaluator) -> dict[str, float]:
        if evaluator.samples is None:
            raise UserError("sclt.latent_swd compares generated samples with data: use it in a "
                            "generate stage")
        codec = LatentCodec(model, evaluator.tensors("train")["x"], config.sigma_data)
        real = evaluator.tensors()["x"]
        fake = evaluator.samples
        generator = torch.Generator().manual_seed(config.seed)
        n = min(len(real), len(fake), config.max_samples)
        real = codec.encode(real[torch.randperm(len(real), generator=generator)[:n]]).cpu()
        fake = codec.encode(fake[torch.randperm(len(fake), generator=generator)[:n]]).cpu()
        value = sliced_wasserstein_distance(fake, real, config.projections, generator)
        return {config.prefix + "latent_swd": value}

    return metric


@attrs.frozen
class TrainingStatsConfig:
    prefix: str = option("", "prefix of the reported names")


def training_stats(config: TrainingStatsConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        stats = getattr(evaluator.model, "stats", None)
        if stats is None or not callable(getattr(stats, "summary", None)):
            raise UserError("sclt.training_stats reads the statistics sclt.consistency_mlp records "
                            "while training: use it in the train stage of that model")
        return {config.prefix + key: value for key, value in stats.summary().items()}

    return metric
