"""The ProtoNet encoder of SuSana (arXiv 2305.09062; official ``networks/convnet.py``).

The paper's ConvNet-4 stacks four ``conv3x3(64) - BN - ReLU - maxpool2`` blocks; for 8x8 digits
two blocks leave a 64x2x2 map, flattened to a 256-d embedding (``pool="flatten"``). The official
ProtoNet average-pools the final map instead (``pool="avg"``, 64-d). For 1-D inputs
(MNIST-1D, shape (1, 40)) the same blocks use 1-D convolutions.

The model maps inputs to embeddings; prototypes and logits ``-||f_q - c_k||² / T`` are formed
by the episode losses and metrics (:mod:`latentzoo_susana.distances`), so any model that returns
an embedding can be trained with them.
"""

from __future__ import annotations

import attrs
import torch
from latentzoo.config import option
from torch import nn

__all__ = ["ProtoNetConfig", "ProtoNet", "protonet"]


@attrs.frozen
class ProtoNetConfig:
    channels: int = option(64, "channels of every conv block (64 in ConvNet-4)", gt=0)
    blocks: int = option(2, "conv3x3-BN-ReLU-maxpool2 blocks (4 in the paper's ConvNet-4)", gt=0)
    pool: str = option("flatten", "embedding: flatten the last map (spec) or average-pool it (official)",
                       choices=("flatten", "avg"))


def conv_block(conv: type[nn.Module], norm: type[nn.Module], pool: type[nn.Module],
               in_channels: int, out_channels: int) -> nn.Sequential:
    """conv3x3 (padding 1) - BatchNorm - ReLU - maxpool 2 (official ``conv_block``)."""
    return nn.Sequential(conv(in_channels, out_channels, 3, padding=1), norm(out_channels),
                         nn.ReLU(), pool(2))


class ProtoNet(nn.Module):
    """Conv encoder; ``forward(x) = embed(x)``: (batch, *input_shape) -> (batch, dim)."""

    def __init__(self, input_shape: tuple[int, ...], channels: int = 64, blocks: int = 2,
                 pool: str = "flatten"):
        super().__init__()
        if len(input_shape) not in (2, 3):
            raise ValueError(f"susana.protonet needs (C, L) or (C, H, W) inputs, found shape "
                             f"{tuple(input_shape)} (use image=true data or source=digits)")
        spatial = input_shape[1:]
        if min(spatial) // 2 ** blocks < 1:
            raise ValueError(f"blocks = {blocks} halves the input size {tuple(spatial)} to zero; "
                             f"use at most {max(1, min(spatial).bit_length() - 1)}")
        if len(input_shape) == 3:
            layers = (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d)
        else:
            layers = (nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d)
        widths = [input_shape[0]] + [channels] * blocks
        self.encoder = nn.Sequential(*(conv_block(*layers, a, b) for a, b in zip(widths, widths[1:])))
        self.pool = pool
        out_spatial = 1
        for size in spatial:
            out_spatial *= size // 2 ** blocks
        self.dim = channels if pool == "avg" else channels * out_spatial

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        features = self.encoder(x)
        if self.pool == "avg":
            return features.flatten(2).mean(-1)
        return features.flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x)


def protonet(config: ProtoNetConfig, ctx) -> ProtoNet:
    if ctx is None or ctx.data is None:
        raise ValueError("susana.protonet needs the stage's data to know the input shape")
    return ProtoNet(tuple(ctx.data.input_shape), config.channels, config.blocks, config.pool)
