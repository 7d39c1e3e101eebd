"""Spectral contrastive loss (HaoChen et al. 2021, arXiv 2106.04156), the loss analysed in §3 of
"Investigating the Benefits of Projection Head" (Xue et al., arXiv 2403.11391).

Minibatch form on f = head ∘ encoder, views x_i, x_i⁺ of N examples:

    L = −(2/N) Σ_i f(x_i)ᵀ f(x_i⁺) + 1/(N(N−1)) Σ_{i≠j} (f(x_i)ᵀ f(x_j⁺))²  +  (λ/2) Σ_ℓ ‖W_ℓ‖²_F

Both sums are unbiased (x_i and x_j⁺ are independent for i ≠ j), so E[L] is the population loss.
For a linear f(x) = W x (W = W_L ⋯ W_1, no biases) the population form is

    L(W) = −2 tr(W M Wᵀ) + ‖W Σ Wᵀ‖²_F  +  (λ/2) Σ_ℓ ‖W_ℓ‖²_F,   M = E[x x⁺ᵀ],  Σ = E[x xᵀ]

(``population = true``: M and Σ come from the data, e.g. ``projection_head.synthetic_features``;
the batch is ignored, so the core's loop runs full-batch gradient descent on the exact loss).
The paper's theory has no weight decay (λ = 0, the default); λ > 0 is the ablation at the end
of §3. The exact normalisation of the paper's loss is not checked (reconstructed, see README).
"""

from __future__ import annotations

import attrs
import torch
from torch import nn

from latentzoo.config import option
from latentzoo.errors import UserError
from latentzoo_ssl.losses import two_view_embeddings

__all__ = ["spectral_contrastive_loss", "population_spectral_loss", "weight_penalty",
           "SpectralCLConfig", "SpectralCL"]


def spectral_contrastive_loss(f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
    """−(2/N) Σ_i f1_iᵀ f2_i + 1/(N(N−1)) Σ_{i≠j} (f1_iᵀ f2_j)² for (N, p) embeddings of the two views."""
    n = len(f1)
    if n < 2:
        raise ValueError("the spectral contrastive loss needs at least 2 examples (no i != j pairs)")
    gram = f1.flatten(1) @ f2.flatten(1).T                      # G_ij = f(x_i)ᵀ f(x_j⁺)
    positive = gram.diagonal().sum()
    off_diagonal = (gram**2).sum() - (gram.diagonal() ** 2).sum()
    return -2.0 * positive / n + off_diagonal / (n * (n - 1))


def population_spectral_loss(product: torch.Tensor, cross: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """−2 tr(W M Wᵀ) + ‖W Σ Wᵀ‖²_F for W = ``product`` (p x d), M = ``cross``, Σ = ``second`` (d x d)."""
    return -2.0 * torch.trace(product @ cross @ product.T) + (product @ second @ product.T).pow(2).sum()


def weight_penalty(model: nn.Module) -> torch.Tensor:
    """(1/2) Σ_ℓ ‖W_ℓ‖²_F over every trainable parameter of the model (multiplied by λ outside)."""
    return 0.5 * sum(p.pow(2).sum() for p in model.parameters() if p.requires_grad)


def linear_map(model: nn.Module, dim: int) -> torch.Tensor:
    """W (p x d) of a linear, bias-free model: its outputs on the standard basis, transposed."""
    device = next(model.parameters()).device
    return model(torch.eye(dim, device=device)).T


@attrs.frozen
class SpectralCLConfig:
    weight_decay: float = option(0.0, "λ of (λ/2) Σ_ℓ ‖W_ℓ‖²_F (paper's theory: 0; ablation: 0.05)", ge=0)
    population: bool = option(False, "exact population loss of a linear model (M, Σ from the data)")


class SpectralCL(nn.Module):
    """``loss(model, {x1, x2})`` (minibatch) or ``loss(model, _)`` (population, linear models)."""

    def __init__(self, config: SpectralCLConfig, ctx=None):
        super().__init__()
        self.weight_decay = config.weight_decay
        self.population = config.population
        if config.population:
            extras = getattr(getattr(ctx, "data", None), "extras", None) or {}
            if "cross_moment" not in extras or "second_moment" not in extras:
                raise UserError("projection_head.spectral_cl with population = true needs data that "
                                "provide M = E[x x⁺ᵀ] and Σ = E[x xᵀ] (extras 'cross_moment', "
                                "'second_moment'), e.g. projection_head.synthetic_features")
            self.register_buffer("cross", extras["cross_moment"].float(), persistent=False)
            self.register_buffer("second", extras["second_moment"].float(), persistent=False)

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if self.population:
            if not callable(getattr(model, "layer_weights", None)):
                raise UserError("projection_head.spectral_cl with population = true needs a linear, "
                                "bias-free model (projection_head.linear_stack); found "
                                f"{type(model).__name__}")
            contrastive = population_spectral_loss(linear_map(model, len(self.cross)), self.cross, self.second)
        else:
            f1, f2 = two_view_embeddings(model, batch, "projection_head.spectral_cl")
            contrastive = spectral_contrastive_loss(f1, f2)
        if self.weight_decay == 0:
            return {"loss": contrastive, "contrastive": contrastive.detach()}
        return {"loss": contrastive + self.weight_decay * weight_penalty(model),
                "contrastive": contrastive.detach()}
