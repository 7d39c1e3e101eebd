"""hpm.patch_map: the figure's layout and values against losses computed here by hand."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

from latentzoo.errors import UserError
from latentzoo.testing import make_evaluator
from latentzoo_hpm.metrics import PatchMapConfig, patch_map
from latentzoo_hpm.model import MaskedAutoencoderViT


def _tiny(loss_predictor=True):
    torch.manual_seed(0)
    return MaskedAutoencoderViT(image_size=(8, 8), patch_size=2, channels=1, dim=16, depth=1, heads=2,
                                decoder_dim=16, decoder_depth=1, decoder_heads=2,
                                loss_predictor=loss_predictor)


def _evaluator(model, n=5):
    x = torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    return make_evaluator(model, {"test": {"x": x, "y": torch.zeros(n, dtype=torch.long)}})


def test_patch_map_rows_columns_and_values_by_hand():
    model, rows, seed = _tiny(), 3, 7
    evaluator = _evaluator(model)
    out = patch_map(PatchMapConfig(num_images=rows, seed=seed), None)(evaluator)
    figure = out["figures"]["patch_map"]
    assert set(out) == {"figures"}
    grid_axes = figure.axes[: rows * 4]                 # subplots first, then the two colour bars
    assert len(figure.axes) == rows * 4 + 2
    assert [a.get_title().split("\n")[0] for a in grid_axes[:4]] == [
        "image (4x4 patches)", "true loss ℓ", "predicted ŝ", "top-6 by ŝ"]

    # by hand: the seeded mask masks the 12 patches with the largest uniform draws; the patches
    # are the (row, col) tiles of 2x2 pixels in row-major order; ℓ = mean squared error per patch
    x = evaluator.tensors()["x"]
    noise = torch.rand(len(x), 16, generator=torch.Generator().manual_seed(seed))[:rows]
    mask = torch.zeros(rows, 16, dtype=torch.bool).scatter_(1, noise.topk(12, dim=1).indices, True)
    model.eval()
    with torch.no_grad():
        result = model.forward_masked(x[:rows], mask)
        full_scores = model.predict_patch_loss(x[:rows])
    tiles = x[:rows, 0].reshape(rows, 4, 2, 4, 2).permute(0, 1, 3, 2, 4).reshape(rows, 16, 4)
    for r in range(rows):
        masked = mask[r].nonzero().flatten()            # ascending: the decoder's masked tail
        pred = result.pixels[r, -12:]
        expected = ((pred - tiles[r, masked]) ** 2).mean(1)
        loss_image = grid_axes[4 * r + 1].images[0].get_array()
        assert loss_image.shape == (4, 4)
        shown = np.ma.getmaskarray(loss_image).flatten()
        assert (~shown == mask[r].numpy()).all()        # visible patches blank
        np.testing.assert_allclose(loss_image.flatten()[masked.numpy()], expected.numpy(), rtol=1e-5, atol=1e-7)
        score_image = grid_axes[4 * r + 2].images[0].get_array()
        np.testing.assert_allclose(score_image.flatten()[masked.numpy()], result.loss_pred[r, -12:].numpy(),
                                   rtol=1e-5, atol=1e-6)
        assert (np.ma.getmaskarray(score_image).flatten() == ~mask[r].numpy()).all()
        hard = grid_axes[4 * r + 3].images[1].get_array()   # overlay on the image: exactly k = 6 patches
        marked = (~np.ma.getmaskarray(hard)).flatten().nonzero()[0]
        assert len(marked) == 6
        assert set(marked.tolist()) == set(full_scores[r].topk(6).indices.tolist())
    matplotlib.pyplot.close(figure)


def test_patch_map_needs_a_loss_predictor():
    with pytest.raises(UserError, match="loss predictor"):
        patch_map(PatchMapConfig(), None)(_evaluator(_tiny(loss_predictor=False)))
