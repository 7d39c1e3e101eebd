"""Read-outs of a trained cMIM / MIM / VAE encoder–decoder (arXiv 2502.19642).

Informative embeddings (the paper's training-free read-out; the exact layers and pooling are
not in the available text, so this form is our reconstruction, R): decode from the posterior
mean and concatenate the decoder's hidden activations to it,

    e(x) = concat[ μ(x), h_1(μ(x)), …, h_{L−1}(μ(x)) ]                                  (IE)

deterministic (μ, no sampling), of dimension d_z + Σ hidden widths. For autoregressive
decoders the paper mean-pools hidden states under teacher forcing; our decoders are MLPs, so
there is one hidden vector per layer.

``cmim.informative_embedding`` fits a logistic-regression probe and a k-NN classifier
(sklearn) on standardised features of the train split and scores them on the evaluation
split, for e(x) (``representation = "informative"``) or for μ(x) alone (``"mean"``), with
exactly the same procedure, so that the two are comparable.

``cmim.reconstruction`` is the mean squared error per pixel between x and the mean of
p(x | z = μ(x)).
"""

from __future__ import annotations

import attrs
import numpy as np
import torch
from latentzoo.config import option
from latentzoo.errors import UserError, require
from torch import nn

__all__ = ["informative_embedding", "InformativeEmbeddingConfig", "informative_probe",
           "ReconstructionConfig", "reconstruction", "ContrastiveTermConfig", "contrastive_term"]

_HINT = "pip install scikit-learn (a dependency of latentzoo-cmim)"


def _check_autoencoder(model: nn.Module | None, who: str) -> None:
    if model is None or not callable(getattr(model, "decoder_hidden", None)) \
            or not callable(getattr(model, "encode", None)):
        raise UserError(f"{who} needs an encoder–decoder with encode() and decoder_hidden() such as "
                        f"cmim.autoencoder; found {type(model).__name__}")


def informative_embedding(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """(IE): [μ(x), decoder hidden activations at μ(x)], (B, d_z + Σ widths)."""
    mu = model.encode(x)[0]
    return torch.cat([mu, *model.decoder_hidden(mu)], dim=1)


@attrs.frozen
class InformativeEmbeddingConfig:
    representation: str = option("informative", "features: e(x) of (IE), or μ(x) alone",
                                 choices=("informative", "mean"))
    k: int = option(5, "neighbours of the k-NN classifier", gt=0)
    c: float = option(1.0, "inverse L2 strength of the logistic-regression probe", gt=0)
    max_iter: int = option(2000, "solver iterations of the probe", gt=0)
    standardize: bool = option(True, "standardise features with train-split statistics")
    train_split: str = option("train", "split the probe and k-NN are fitted on")
    prefix: str = option("", "prefix of the reported names (default: '<representation>_')")


def informative_probe(config: InformativeEmbeddingConfig, ctx):
    linear_model = require("sklearn.linear_model", "full", "cmim.informative_embedding", _HINT)
    neighbors = require("sklearn.neighbors", "full", "cmim.informative_embedding", _HINT)
    prefix = config.prefix or f"{config.representation}_"

    def features(model, batch):
        if config.representation == "mean":
            return model.encode(batch["x"])[0]
        return informative_embedding(model, batch["x"])

    def metric(evaluator) -> dict[str, float]:
        _check_autoencoder(evaluator.model, "cmim.informative_embedding")
        train = evaluator.predict(features, config.train_split).numpy().astype(np.float64)
        test = evaluator.predict(features).numpy().astype(np.float64)
        if config.standardize:
            mean, std = train.mean(0), train.std(0) + 1e-8
            train, test = (train - mean) / std, (test - mean) / std
        y_train = evaluator.labels(config.train_split).numpy()
        y_test = evaluator.labels().numpy()
        probe = linear_model.LogisticRegression(C=config.c, max_iter=config.max_iter)
        probe.fit(train, y_train)
        knn = neighbors.KNeighborsClassifier(n_neighbors=config.k)
        knn.fit(train, y_train)
        return {f"{prefix}linear_probe": float(probe.score(test, y_test)),
                f"{prefix}knn_accuracy": float(knn.score(test, y_test)),
                f"{prefix}dim": float(train.shape[1])}

    return metric


@attrs.frozen
class ReconstructionConfig:
    prefix: str = option("", "prefix of the reported name ('<prefix>reconstruction_mse')")


def reconstruction(config: ReconstructionConfig, ctx):
    def per_example(model, batch):
        x = batch["x"]
        recon = model.reconstruct(model.encode(x)[0])
        return ((recon - x) ** 2).flatten(1).mean(1)

    def metric(evaluator) -> dict[str, float]:
        model = evaluator.model
        if model is None or not callable(getattr(model, "reconstruct", None)):
            raise UserError("cmim.reconstruction needs an auto-encoder with reconstruct() such as "
                            f"cmim.autoencoder; found {type(model).__name__}")
        return {f"{config.prefix}reconstruction_mse": evaluator.predict(per_example).mean().item()}

    return metric


@attrs.frozen
class ContrastiveTermConfig:
    temperature: float = option(0.1, "temperature τ of the contrastive factor (C1)", gt=0)
    batch_size: int = option(64, "codes contrasted together (the training batch size)", gt=1)
    prefix: str = option("", "prefix of the reported name ('<prefix>contrastive_term')")


def contrastive_term(config: ContrastiveTermConfig, ctx):
    """L_con = −mean_i log p(k=1|μ_i, x_i) of (C1) on the posterior means of the evaluation
    split, in consecutive chunks of ``batch_size``: how well each code is told apart from the
    others (0 = perfectly; log 2 = all codes parallel). A diagnostic of the contrastive term's
    size, for every arm (also those that do not train it)."""
    from latentzoo_cmim.losses import contrastive_log_prob, cosine_logits

    def metric(evaluator) -> dict[str, float]:
        model = evaluator.model
        if model is None or not callable(getattr(model, "encode", None)):
            raise UserError("cmim.contrastive_term needs an encoder with encode() such as "
                            f"cmim.autoencoder; found {type(model).__name__}")
        mu = evaluator.predict(lambda m, batch: m.encode(batch["x"])[0]).double()
        terms = [-contrastive_log_prob(cosine_logits(chunk, config.temperature))
                 for chunk in mu.split(config.batch_size) if len(chunk) > 1]
        return {f"{config.prefix}contrastive_term": torch.cat(terms).mean().item()}

    return metric
