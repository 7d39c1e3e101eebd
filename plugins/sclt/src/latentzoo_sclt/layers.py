"""Non-scaling LayerNorm (NsLN), sLCT Sec. 4.4 (arXiv 2502.01441).

y = (h − μ)/√(var + 1e-5) + β: a ``nn.LayerNorm`` (eps 1e-5, biased variance) whose gain γ
is fixed at 1 and frozen, while the bias β stays learnable (initialised to 0). Without the
gain, a few outlier features cannot rescale the normalised statistics of the rest.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["NonScalingLayerNorm"]


class NonScalingLayerNorm(nn.LayerNorm):
    """LayerNorm with a frozen unit gain and a learnable bias."""

    def __init__(self, normalized_shape, eps: float = 1e-5):
        super().__init__(normalized_shape, eps=eps, elementwise_affine=True, bias=True)
        with torch.no_grad():
            self.weight.fill_(1.0)
        self.weight.requires_grad_(False)
