"""The probabilistic auto-encoder of MIM / cMIM (Livne 2025, arXiv 2502.19642; MIM: arXiv 1910.03175).

One module holds both conditionals, so that an ``evaluate`` stage sees the decoder too
(reconstruction error, informative embeddings):

    q(z|x) = N(μ(x), diag σ²(x))          encoder MLP  D → 256 → 256 → 2·d_z, SiLU
    p(x|z) = N(m(z), σ_x² I)               decoder MLP  d_z → 256 → 256 → D, SiLU, fixed σ_x = 0.1
           or Bernoulli(sigmoid(ℓ(z)))     (``likelihood = "bernoulli"``, targets in [0, 1])

log σ²(x) is clamped to [logvar_min, logvar_max] = [−6, 2] (the spec's floor; A-MIM drives the
encoder variance down, the MIM repo floors the scale at 10⁻⁶ in its "logvar6" runs and the
(C) KERMT code floors log σ at −6, i.e. log σ² at −12: set ``logvar_min = -12`` for that).

``forward(x)`` and ``embed(x)`` return μ(x): representation metrics (linear probe, kNN) and
the InfoNCE baseline (``ssl.nt_xent``) read the posterior mean, never a sample.
``decoder_hidden(z)`` returns the decoder's hidden activations (after the non-linearity),
which the informative embedding (:mod:`latentzoo_cmim.metrics`) concatenates to μ.
"""

from __future__ import annotations

import math

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError
from torch import nn

__all__ = ["AutoEncoderConfig", "GaussianAutoEncoder", "autoencoder", "gaussian_log_prob",
           "bernoulli_log_prob"]

LOG_2PI = math.log(2.0 * math.pi)


# ---------------------------------------------------------------------------------------------
# Log-densities, summed over the feature dimension (the MIM repo's convention)
# ---------------------------------------------------------------------------------------------


def gaussian_log_prob(value: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(value; mean, diag exp(logvar)), summed over the last dimension: (..., D) -> (...)."""
    logvar = torch.as_tensor(logvar, dtype=value.dtype, device=value.device)
    per_dim = -0.5 * (LOG_2PI + logvar + (value - mean) ** 2 * torch.exp(-logvar))
    return per_dim.expand(torch.broadcast_shapes(value.shape, mean.shape, per_dim.shape)).sum(-1)


def bernoulli_log_prob(value: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Σ_d [x_d log p_d + (1 − x_d) log(1 − p_d)], p = sigmoid(logits); x may lie in [0, 1]."""
    return -nn.functional.binary_cross_entropy_with_logits(logits, value, reduction="none").sum(-1)


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------


_ACTIVATIONS = {"silu": nn.SiLU, "tanh": nn.Tanh, "relu": nn.ReLU}


def _mlp(widths: list[int], activation: str) -> nn.Sequential:
    """Linear → act for every hidden width, then a final Linear (no activation)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(_ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


@attrs.frozen
class AutoEncoderConfig:
    latent_dim: int = option(16, "latent size d_z", gt=0)
    hidden: tuple[int, ...] = option((256, 256), "hidden widths of the encoder (the decoder mirrors them)", gt=0)
    activation: str = option("silu", "non-linearity", choices=tuple(_ACTIVATIONS))
    likelihood: str = option("gaussian", "decoder p(x|z): Gaussian with fixed σ_x, or Bernoulli logits",
                             choices=("gaussian", "bernoulli"))
    sigma_x: float = option(0.1, "fixed standard deviation σ_x of the Gaussian decoder", gt=0)
    logvar_min: float = option(-6.0, "floor of the encoder's log σ² (A-MIM drives the variance down)")
    logvar_max: float = option(2.0, "ceiling of the encoder's log σ²")


class GaussianAutoEncoder(nn.Module):
    """q(z|x) and p(x|z) of MIM; ``forward = embed = μ(x)``."""

    def __init__(self, input_shape: tuple[int, ...], config: AutoEncoderConfig):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.input_dim = math.prod(self.input_shape)
        self.latent_dim = config.latent_dim
        self.likelihood = config.likelihood
        self.logvar_min, self.logvar_max = config.logvar_min, config.logvar_max
        self.register_buffer("decoder_logvar", torch.tensor(2.0 * math.log(config.sigma_x)))
        hidden = list(config.hidden)
        self.encoder = _mlp([self.input_dim, *hidden, 2 * config.latent_dim], config.activation)
        self.decoder = _mlp([config.latent_dim, *reversed(hidden), self.input_dim], config.activation)

    # -- q(z|x) -----------------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ, log σ²), each (B, d_z); log σ² clamped to [logvar_min, logvar_max]."""
        mu, logvar = self.encoder(x.flatten(1)).chunk(2, dim=-1)
        return mu, logvar.clamp(self.logvar_min, self.logvar_max)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """z = μ + σ ⊙ ε, ε ~ N(0, I): one sample per x, differentiable in μ and log σ²."""
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x)[0]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x)[0]

    # -- p(x|z) -----------------------------------------------------------------------------------
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's output, flat (B, D): the Gaussian mean or the Bernoulli logits."""
        return self.decoder(z)

    def reconstruct(self, z: torch.Tensor) -> torch.Tensor:
        """Mean of p(x|z) in the input's shape (sigmoid of the logits for Bernoulli)."""
        out = self.decode(z)
        if self.likelihood == "bernoulli":
            out = torch.sigmoid(out)
        return out.reshape(len(z), *self.input_shape)

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x|z), summed over pixels: (B,)."""
        out = self.decode(z)
        x = x.flatten(1)
        if self.likelihood == "bernoulli":
            return bernoulli_log_prob(x, out)
        return gaussian_log_prob(x, out, self.decoder_logvar)

    def decoder_hidden(self, z: torch.Tensor) -> list[torch.Tensor]:
        """Activations h_1(z), …, h_{L−1}(z) after each hidden non-linearity of the decoder."""
        hidden = []
        h = z
        for layer in self.decoder:
            h = layer(h)
            if not isinstance(layer, nn.Linear):
                hidden.append(h)
        return hidden


def autoencoder(config: AutoEncoderConfig, ctx) -> GaussianAutoEncoder:
    if ctx is None or ctx.data is None:
        raise UserError("cmim.autoencoder needs the stage's data to size its input and output")
    if config.logvar_min >= config.logvar_max:
        raise UserError(f"logvar_min ({config.logvar_min}) must be below logvar_max ({config.logvar_max})")
    return GaussianAutoEncoder(tuple(ctx.data.input_shape), config)
