"""Shared test helpers: tiny relreps models and an in-process evaluator."""

from __future__ import annotations

import contextlib
import copy

import torch
from latentzoo.evaluation import Evaluator
from latentzoo_relreps.models import Head, MLPEncoder, RelRepsModel


def make_model(seed: int, space: str = "relative", similarity: str = "cosine", anchors=None,
               task: str = "classification", in_dim: int = 6, latent: int = 4, classes: int = 3):
    torch.manual_seed(seed)
    if anchors is None:
        anchors = torch.randn(8, in_dim, generator=torch.Generator().manual_seed(123))
    encoder = MLPEncoder(in_dim, 16, latent)
    head_in = len(anchors) if space == "relative" else latent
    out = classes if task == "classification" else in_dim
    head = Head(head_in, 16, out, sigmoid=task != "classification")
    return RelRepsModel(encoder, head, anchors, space, similarity, task)


def random_orthogonal(dim: int, seed: int = 0) -> torch.Tensor:
    q, r = torch.linalg.qr(torch.randn(dim, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return (q * torch.sign(torch.diagonal(r))).float()


def isometric_copy(model: RelRepsModel, scale: float = 3.7, seed: int = 0) -> RelRepsModel:
    """A copy whose latent space is s * E(x) Q: the last encoder layer is rotated and rescaled."""
    other = copy.deepcopy(model)
    last = other.encoder.net[-1]
    q = random_orthogonal(last.out_features, seed)
    with torch.no_grad():
        last.weight.copy_(scale * q.T @ last.weight)   # (e Q)ᵀ = Qᵀ W x + Qᵀ b
        last.bias.copy_(scale * last.bias @ q)
    return other


class FakeAccelerator:
    """One process on the CPU: what Evaluator.predict needs."""

    device = torch.device("cpu")
    process_index = 0
    num_processes = 1

    def autocast(self):
        return contextlib.nullcontext()

    def gather(self, tensor):
        return tensor


def make_evaluator(models: dict, data) -> Evaluator:
    names = list(models)
    return Evaluator(FakeAccelerator(), model=models[names[0]], data=data,
                     models={n: models[n] for n in names[1:]}, artifacts=dict(models), batch_size=7)
