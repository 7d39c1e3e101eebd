"""Stage 1 of DiffuseVAE: a Gaussian VAE (Kingma & Welling 2014) trained first, then frozen.

Pandey et al. 2022 (arXiv 2201.00308), Sec. 3.1; official ``main/models/vae.py``. The VAE works on
data in [0, 1] and decodes through a sigmoid. Its loss (``VAE.training_step``) is

    L = Σ_{batch, pixels} (Dec(z) − x)² + α·KL,   KL = −½·Σ_{batch, latent dims}(1 + log σ² − μ² − σ²),

z = μ + σ·ε (reparameterisation), both terms summed over the batch with no division by its size.
The CPU-scale network replaces the ResNet encoder/decoder by MLPs 64→256→256→(μ, log σ²) and
z→256→256→64.

The GMM prior (``GaussianMixturePrior``, Sec. 4.3 "ex-post density estimation", Ghosh et al.
2020) is sklearn's ``GaussianMixture`` fitted on the encoder means of the training set.
"""

from __future__ import annotations

import math

import attrs
import torch
from latentzoo.config import option
from latentzoo.errors import UserError
from torch import nn

__all__ = ["VAE", "VAEConfig", "vae", "gaussian_kl", "VAELoss", "VAELossConfig",
           "GaussianMixturePrior"]


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for index, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if index < len(sizes) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class VAE(nn.Module):
    """Gaussian encoder q(z|x) = N(μ(x), diag σ²(x)) and sigmoid decoder, on flat or image data.

    ``forward(x)`` is the mean reconstruction Dec(μ(x)); ``embed(x)`` is μ(x).
    """

    def __init__(self, input_shape: tuple[int, ...], latent_dim: int = 8, hidden: int = 256,
                 depth: int = 2):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.latent_dim = latent_dim
        size = math.prod(self.input_shape)
        self.encoder = _mlp([size] + [hidden] * depth + [2 * latent_dim])
        self.decoder = _mlp([latent_dim] + [hidden] * depth + [size])

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ, log σ²) of q(z | x), x in [0, 1]."""
        mu, logvar = self.encoder(x.reshape(len(x), -1)).chunk(2, dim=-1)
        return mu, logvar

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Dec(z) in [0, 1], shaped like the data."""
        return torch.sigmoid(self.decoder(z)).reshape(len(z), *self.input_shape)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x)[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x)[0])


@attrs.frozen
class VAEConfig:
    latent_dim: int = option(8, "dimension of z (512 on CIFAR-10 in the paper; 8 for 8x8 digits)", gt=0)
    hidden: int = option(256, "width of the encoder and decoder MLPs", gt=0)
    depth: int = option(2, "hidden layers of the encoder and of the decoder", gt=0)


def vae(config: VAEConfig, ctx) -> VAE:
    if ctx is None or ctx.data is None:
        raise UserError("diffusevae.vae needs the stage's data to know the input shape")
    return VAE(ctx.data.input_shape, config.latent_dim, config.hidden, config.depth)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) = −½·Σ(1 + log σ² − μ² − σ²), summed over everything."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


@attrs.frozen
class VAELossConfig:
    alpha: float = option(1.0, "weight α of the KL term", ge=0)
    key: str = option("x", "batch key of the data (in [0, 1])")


class VAELoss(nn.Module):
    """Sum-reduced squared error + α·KL with a reparameterised z (``VAE.training_step``)."""

    def __init__(self, config: VAELossConfig, ctx=None):
        super().__init__()
        self.alpha = config.alpha
        self.key = config.key

    def forward(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        for name in ("encode", "decode", "reparameterize"):
            if not callable(getattr(model, name, None)):
                raise UserError(f"diffusevae.vae_loss trains a VAE with encode/decode/reparameterize; "
                                f"{type(model).__name__} has no {name}() (use model diffusevae.vae)")
        x = batch[self.key].float()
        mu, logvar = model.encode(x)
        z = model.reparameterize(mu, logvar)
        reconstruction = torch.sum((model.decode(z) - x) ** 2)
        kl = gaussian_kl(mu, logvar)
        return {"loss": reconstruction + self.alpha * kl, "reconstruction": reconstruction, "kl": kl}


class GaussianMixturePrior:
    """p(z) = Σ_k π_k N(m_k, S_k) fitted (sklearn, full covariances) on encoder means μ(x_train)."""

    def __init__(self, vae_model: nn.Module, x_train: torch.Tensor, components: int = 10,
                 seed: int = 0):
        from sklearn.mixture import GaussianMixture

        if components > len(x_train):
            raise UserError(f"the GMM prior has {components} components but only {len(x_train)} "
                            "training examples; lower gmm_components")
        device = next(vae_model.parameters()).device
        with torch.no_grad():
            means = vae_model.encode(x_train.float().to(device))[0].double().cpu().numpy()
        self.mixture = GaussianMixture(components, covariance_type="full", random_state=seed).fit(means)

    def sample(self, num: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``num`` draws of z; component then Gaussian, with torch's RNG (so seeds control it)."""
        weights = torch.as_tensor(self.mixture.weights_)
        component = torch.multinomial(weights, num, replacement=True, generator=generator)
        means = torch.as_tensor(self.mixture.means_)[component]
        chol = torch.linalg.cholesky(torch.as_tensor(self.mixture.covariances_))[component]
        noise = torch.randn(num, means.shape[1], 1, dtype=torch.float64, generator=generator)
        return (means + (chol @ noise).squeeze(-1)).float()
