"""Episode losses of SuSana (arXiv 2305.09062): ProtoNet cross-entropy, Proto-Triplet, ICNN.

Every loss takes an episode batch from ``susana.episodic`` (``support_x/support_y`` and
``query_x/query_y``, class-major, labels 0..way-1), embeds support and query in one forward
pass (as the official ProtoNet, so BatchNorm sees the whole episode), forms prototypes
``c_k`` and logits ``-||f_q - c_k||² / T``, and adds the selected terms:

- ``cross``:        CE(logits, y_q)                                   (ProtoNet baseline)
- ``prototriplet``: mean_q max(0, d(f_q, c_y) - min_{k!=y} d(f_q, c_k) + m)   (Proto-Triplet)
- ``fullicnn``:     -log score([support; query], ipc = shot + query)  (ICNN, paper default)
- ``suppicnn``:     -log score(support)
- ``queryicnn``:    -log score(query vs prototypes, or vs support)

The total is the sum of the terms divided by their number (official ``get_icnn_loss``: the
combinations CE, CE+PT, PT+ICNN, CE+PT+ICNN are divided by 1, 2, 2, 3). Unlike the official
substring test, term names are validated, so a typo (``fullicn``) fails instead of silently
dropping ICNN while still counting it in the divisor.
"""

from __future__ import annotations

import attrs
import torch
import torch.nn.functional as F
from latentzoo.config import option
from latentzoo.errors import UserError, did_you_mean
from torch import nn

from latentzoo_susana.distances import proto_logits, proto_triplet_loss, prototypes
from latentzoo_susana.icnn import SELF_EXCLUSIONS, icnn_loss

__all__ = ["TERMS", "EpisodeLoss", "CombinedConfig", "combined", "ProtoCEConfig", "proto_ce",
           "ProtoTripletConfig", "proto_triplet", "ICNNConfig", "icnn"]

TERMS = ("cross", "prototriplet", "fullicnn", "suppicnn", "queryicnn")
EPISODE_KEYS = ("support_x", "support_y", "query_x", "query_y")


def _check_terms(instance, attribute, value):
    if not value:
        raise ValueError(f"needs at least one of {', '.join(TERMS)}")
    for term in value:
        if term not in TERMS:
            raise ValueError(f"unknown loss term {term!r}; the terms are {', '.join(TERMS)}"
                             + did_you_mean(term, TERMS))
    if len(set(value)) != len(value):
        raise ValueError(f"a loss term is listed twice: {list(value)}")


class EpisodeLoss(nn.Module):
    """``(sum of the selected terms) / (number of terms)`` on one episode.

    Returns ``{"loss", <term>..., "episode_acc"}``; the extra entries are logged by the loop.
    """

    def __init__(self, terms: tuple[str, ...], temperature: float = 1.0, margin: float = 0.5,
                 icnn_k: int = 4, query_target: str = "support", self_exclusion: str = "mask"):
        super().__init__()
        _check_terms(None, None, tuple(terms))
        self.terms = tuple(terms)
        self.temperature = temperature
        self.margin = margin
        self.icnn_k = icnn_k
        self.query_target = query_target
        self.self_exclusion = self_exclusion

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        missing = [key for key in EPISODE_KEYS if key not in batch]
        if missing:
            raise UserError(f"the SuSana losses need episodes ({', '.join(missing)} missing from the "
                            "batch): set sampler = 'susana.episodic' in the train stage")
        support_y, query_y = batch["support_y"], batch["query_y"]
        n_support = len(support_y)
        embeddings = model(torch.cat([batch["support_x"], batch["query_x"]]))
        support, query = embeddings[:n_support], embeddings[n_support:]
        way = int(support_y.max()) + 1
        shot, queries = n_support // way, len(query_y) // way
        protos = prototypes(support, support_y, way)
        logits = proto_logits(query, protos, self.temperature)
        values: dict[str, torch.Tensor] = {}
        icnn = {"k": self.icnn_k, "self_exclusion": self.self_exclusion}
        for term in self.terms:
            if term == "cross":
                values[term] = F.cross_entropy(logits, query_y)
            elif term == "prototriplet":
                values[term] = proto_triplet_loss(query, query_y, protos, self.margin)
            elif term == "fullicnn":
                values[term] = icnn_loss(embeddings, torch.cat([support_y, query_y]),
                                         ipc=shot + queries, **icnn)
            elif term == "suppicnn":
                values[term] = icnn_loss(support, support_y, **icnn)
            else:  # queryicnn
                if self.query_target == "prototypes":
                    target_y = torch.arange(way, device=protos.device)
                    values[term] = icnn_loss(query, query_y, protos, target_y, **icnn)
                else:
                    values[term] = icnn_loss(query, query_y, support, support_y, **icnn)
        total = sum(values.values()) / len(values)
        accuracy = (logits.argmax(dim=1) == query_y).float().mean().detach()
        return {"loss": total, **{k: v.detach() for k, v in values.items()}, "episode_acc": accuracy}


# ---------------------------------------------------------------------------------------------
# Registered losses: the combination and each term on its own
# ---------------------------------------------------------------------------------------------


def _temperature():
    return option(1.0, "temperature T of the logits -||f_q - c_k||² / T", gt=0)


def _margin():
    return option(0.5, "Proto-Triplet margin m", ge=0)


def _icnn_k():
    return option(4, "ICNN neighbours k (shrunk to n - 2 for small sets)", gt=0)


def _query_target():
    return option("support", "queryicnn: neighbours among the support (official default) or the "
                  "prototypes (official --query_protos)", choices=("support", "prototypes"))


def _self_exclusion():
    return option("mask", "ICNN self-exclusion: mask the diagonal (default) or drop the first "
                  "neighbour column (official, wrong for duplicates and the query variant)",
                  choices=SELF_EXCLUSIONS)


@attrs.frozen
class CombinedConfig:
    terms: tuple[str, ...] = option(("cross", "prototriplet", "fullicnn"),
                                    "loss terms summed and divided by their number: cross, "
                                    "prototriplet, fullicnn, suppicnn, queryicnn")
    temperature: float = _temperature()
    margin: float = _margin()
    icnn_k: int = _icnn_k()
    query_target: str = _query_target()
    self_exclusion: str = _self_exclusion()

    def __attrs_post_init__(self):
        _check_terms(self, None, self.terms)


def combined(config: CombinedConfig, ctx=None) -> EpisodeLoss:
    return EpisodeLoss(tuple(config.terms), config.temperature, config.margin, config.icnn_k,
                       config.query_target, config.self_exclusion)


@attrs.frozen
class ProtoCEConfig:
    temperature: float = _temperature()


def proto_ce(config: ProtoCEConfig, ctx=None) -> EpisodeLoss:
    """ProtoNet's loss alone: CE of the query logits."""
    return EpisodeLoss(("cross",), temperature=config.temperature)


@attrs.frozen
class ProtoTripletConfig:
    margin: float = _margin()
    temperature: float = option(1.0, "temperature of the logits (only for the logged episode accuracy)",
                                gt=0)


def proto_triplet(config: ProtoTripletConfig, ctx=None) -> EpisodeLoss:
    """The Proto-Triplet loss alone."""
    return EpisodeLoss(("prototriplet",), temperature=config.temperature, margin=config.margin)


@attrs.frozen
class ICNNConfig:
    variant: str = option("full", "embeddings scored: full = support + query (paper default), "
                          "supp = support, query = queries vs prototypes/support",
                          choices=("full", "supp", "query"))
    k: int = _icnn_k()
    query_target: str = _query_target()
    self_exclusion: str = _self_exclusion()


def icnn(config: ICNNConfig, ctx=None) -> EpisodeLoss:
    """The ICNN loss alone, ``-log score``."""
    return EpisodeLoss((f"{config.variant}icnn",), icnn_k=config.k, query_target=config.query_target,
                       self_exclusion=config.self_exclusion)
