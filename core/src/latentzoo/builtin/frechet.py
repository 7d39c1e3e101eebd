"""Fréchet distance of generated digits in a fixed feature space.

FD = ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^{1/2}) (Heusel et al. 2017, the FID formula),
computed on the 64-dimensional penultimate features of a small classifier trained once on all
of sklearn's digits and shipped with the package (``assets/digits_features.pt``), so every run
and every machine measures in the same space. ``python -m latentzoo.builtin.frechet`` retrains
it deterministically (CPU, fixed seed) and prints its accuracy.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import numpy as np
import torch
from torch import nn

from latentzoo.config import option
from latentzoo.errors import UserError, require

ASSET = Path(__file__).parent / "assets" / "digits_features.pt"


class DigitsFeatureNet(nn.Module):
    """64 -> 128 -> 64 (features) -> 10, ReLU; inputs are digits scaled to [0, 1]."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU())
        self.head = nn.Linear(64, 10)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


def train_feature_net(epochs: int = 300, seed: int = 0) -> tuple[DigitsFeatureNet, float]:
    datasets = require("sklearn.datasets", "full", "the digits feature network")
    bunch = datasets.load_digits()
    x = torch.tensor(bunch.data / 16.0, dtype=torch.float32)
    y = torch.tensor(bunch.target)
    torch.manual_seed(seed)
    net = DigitsFeatureNet()
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for index in torch.randperm(len(x), generator=generator).split(128):
            loss = nn.functional.cross_entropy(net(x[index]), y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    accuracy = (net(x).argmax(1) == y).float().mean().item()
    return net.eval(), accuracy


_cached: DigitsFeatureNet | None = None


def feature_net() -> DigitsFeatureNet:
    global _cached
    if _cached is None:
        if not ASSET.exists():
            raise UserError(f"the digits feature network {ASSET} is missing from the installed "
                            "package; reinstall latentzoo")
        net = DigitsFeatureNet()
        net.load_state_dict(torch.load(ASSET, map_location="cpu", weights_only=True))
        _cached = net.eval().requires_grad_(False)
    return _cached


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    linalg = require("scipy.linalg", "full", "the Fréchet distance")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # near-singular products are handled below
        covmean = np.asarray(linalg.sqrtm(sigma1 @ sigma2))
        if not np.isfinite(covmean).all():  # regularise as in the reference FID code
            offset = np.eye(len(sigma1)) * 1e-6
            covmean = np.asarray(linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset)))
    covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def feature_statistics(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        features = feature_net().embed(x.reshape(len(x), 64).float().cpu()).double().numpy()
    return features.mean(0), np.cov(features, rowvar=False)


@attrs.frozen
class DigitsFrechetConfig:
    max_samples: int = option(2000, "use at most this many samples of each set (equal counts)", gt=1)
    seed: int = option(0, "seed of the subsampling")
    prefix: str = option("", "prefix of the reported name ('<prefix>frechet_distance')")
    data_range: str = option("unit", "range of both sample sets: [0, 1] ('unit') or [-1, 1] ('symmetric')",
                             choices=("unit", "symmetric"))


def digits_frechet(config: DigitsFrechetConfig, ctx):
    def metric(evaluator) -> dict[str, float]:
        if evaluator.samples is None:
            raise UserError("builtin.digits_frechet compares generated samples with real digits: "
                            "use it in a generate stage with builtin.digits data")
        real = evaluator.tensors()["x"]
        fake = evaluator.samples
        if real[0].numel() != 64 or fake[0].numel() != 64:
            raise UserError("builtin.digits_frechet needs 8x8 digits (64 values per sample), found "
                            f"{tuple(real.shape[1:])} real and {tuple(fake.shape[1:])} generated")
        generator = torch.Generator().manual_seed(config.seed)
        n = min(len(real), len(fake), config.max_samples)
        real = real[torch.randperm(len(real), generator=generator)[:n]]
        fake = fake[torch.randperm(len(fake), generator=generator)[:n]]
        if config.data_range == "symmetric":  # the feature network reads digits in [0, 1]
            real, fake = (real + 1) / 2, (fake + 1) / 2
        value = frechet_distance(*feature_statistics(fake), *feature_statistics(real))
        return {(config.prefix or "") + "frechet_distance": value}

    return metric


if __name__ == "__main__":
    net, acc = train_feature_net()
    ASSET.parent.mkdir(exist_ok=True)
    torch.save(net.state_dict(), ASSET)
    print(f"wrote {ASSET} (train accuracy {acc:.4f})")
