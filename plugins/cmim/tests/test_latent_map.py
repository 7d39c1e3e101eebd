"""cmim.latent_map: the figure's layout and values against PCA, μ and reconstructions computed here."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from latentzoo.errors import UserError
from latentzoo.testing import make_evaluator
from sklearn.decomposition import PCA

from latentzoo_cmim.metrics import LatentMapConfig, latent_map
from latentzoo_cmim.models import AutoEncoderConfig, GaussianAutoEncoder


def _setup(classes=3, train=30, test=12):
    torch.manual_seed(0)
    model = GaussianAutoEncoder((64,), AutoEncoderConfig(latent_dim=4, hidden=(16, 8)))
    generator = torch.Generator().manual_seed(1)
    y = torch.arange(train + test) % classes
    x = torch.rand(train + test, 64, generator=generator) * 0.3 + 0.2 * y[:, None].float()
    splits = {"train": {"x": x[:train], "y": y[:train]}, "test": {"x": x[train:], "y": y[train:]}}
    return model, make_evaluator(model, splits, num_classes=classes)


def test_latent_map_panels_and_values_by_hand():
    model, evaluator = _setup()
    shown = 5
    out = latent_map(LatentMapConfig(num_images=shown), None)(evaluator)
    assert set(out) == {"figures"}                       # a figure only, no table column
    figure = out["figures"]["latent_map"]
    scatter, pictures = figure.axes                      # two panels
    assert [t.get_text() for t in scatter.get_legend().get_texts()] == ["0", "1", "2"]
    colours = [tuple(c.get_facecolor()[0][:3]) for c in scatter.collections]
    assert len(set(colours)) == 3                        # one colour per class

    # by hand: μ of both splits, PCA fitted on the train μ, applied to the test μ
    splits = evaluator.data
    x_train, x_test = splits.split("train")["x"], splits.split("test")["x"]
    y_test = splits.split("test")["y"].numpy()
    model.eval()
    with torch.no_grad():
        mu_train = model.encode(x_train)[0].double().numpy()
        mu_test = model.encode(x_test)[0]
        recon = model.decoder(mu_test)                   # the Gaussian decoder's mean
    expected = PCA(n_components=2).fit(mu_train).transform(mu_test.double().numpy())
    for label, collection in zip(range(3), scatter.collections, strict=True):
        plotted = collection.get_offsets()
        want = expected[y_test == label]
        assert plotted.shape == want.shape
        for k in range(2):                               # each component up to its sign
            sign = np.sign(np.dot(plotted[:, k], want[:, k]))
            np.testing.assert_allclose(plotted[:, k], sign * want[:, k], rtol=1e-4, atol=1e-5)

    # reconstructions: bottom row = decoder mean at μ of the first test images, top row = inputs
    inputs, recons = (image.get_array() for image in pictures.images)
    assert inputs.shape == recons.shape == (8, shown * 9 - 1)
    for i in range(shown):
        tile = slice(9 * i, 9 * i + 8)
        np.testing.assert_allclose(recons[:, tile], recon[i].reshape(8, 8).numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(inputs[:, tile], x_test[i].reshape(8, 8).numpy(), rtol=1e-6)
    assert all(image.get_clim() == (0.0, 1.0) for image in pictures.images)   # the data's fixed scale

    # annotations: the whole test split's MSE and the share of test μ variance in the 2 PCs
    mse = ((recon - x_test) ** 2).mean().item()
    assert f"{mse:.5f}" in pictures.get_xlabel()
    centred = mu_test.double().numpy() - mu_test.double().numpy().mean(0)
    projected = expected - expected.mean(0)
    share = (projected ** 2).sum() / (centred ** 2).sum()
    assert f"{100 * share:.1f}%" in scatter.texts[0].get_text()
    matplotlib.pyplot.close(figure)


def test_latent_map_needs_an_autoencoder():
    evaluator = make_evaluator(torch.nn.Linear(64, 4), {"test": {"x": torch.rand(3, 64), "y": torch.zeros(3)}})
    with pytest.raises(UserError, match="cmim.autoencoder"):
        latent_map(LatentMapConfig(), None)(evaluator)
    with pytest.raises(UserError, match="pixel_range"):
        latent_map(LatentMapConfig(pixel_range=(1.0, 0.0)), None)
