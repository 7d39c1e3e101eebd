"""Shapes, patch order and the sin-cos table of latentzoo_vit.vit, against hand-computed values."""

import math

import pytest
import torch

from latentzoo.build import BuildContext
from latentzoo.data import DataInfo
from latentzoo.errors import UserError
from latentzoo_vit.vit import ViT, ViTConfig, patchify, sincos_pos_embed_2d, unpatchify, vit


def test_sincos_value_by_hand():
    # dim 8 on a 4x4 grid: per axis 4 features [sin(p), sin(p/100), cos(p), cos(p/100)]
    # (omega_k = 10000^(-k/2), k = 0, 1); first half the column, second half the row.
    # Patch index 6 is row 1, column 2.
    table = sincos_pos_embed_2d(8, 4, 4)
    expected = [math.sin(2), math.sin(0.02), math.cos(2), math.cos(0.02),
                math.sin(1), math.sin(0.01), math.cos(1), math.cos(0.01)]
    assert table.shape == (16, 8)
    assert table[6].tolist() == pytest.approx(expected, abs=1e-6)
    # rectangular grid 2 x 3, index 5 = row 1, column 2, dim 4: [sin 2, cos 2, sin 1, cos 1]
    rect = sincos_pos_embed_2d(4, 2, 3, cls_token=True)
    assert rect.shape == (7, 4)
    assert rect[0].tolist() == [0.0, 0.0, 0.0, 0.0]  # the class token's zero row
    assert rect[6].tolist() == pytest.approx([math.sin(2), math.cos(2), math.sin(1), math.cos(1)], abs=1e-6)


def test_patchify_order_row_col_channel():
    # 2 channels, 4x4 image, patch 2: patch 1 is rows 0-1, columns 2-3, channel fastest.
    image = torch.arange(2 * 4 * 4, dtype=torch.float32).reshape(1, 2, 4, 4)
    patches = patchify(image, 2)
    assert patches.shape == (1, 4, 8)
    c0, c1 = image[0, 0], image[0, 1]
    expected = [c0[0, 2], c1[0, 2], c0[0, 3], c1[0, 3], c0[1, 2], c1[1, 2], c0[1, 3], c1[1, 3]]
    assert patches[0, 1].tolist() == [float(v) for v in expected]
    assert torch.equal(unpatchify(patches, 2, 2, 2), image)


@pytest.mark.parametrize("pool", ["mean", "cls"])
@pytest.mark.parametrize("pos_embed", ["sincos", "learned"])
def test_shapes_digits(pool, pos_embed):
    model = ViT(image_size=(8, 8), patch_size=2, channels=1, dim=16, depth=2, heads=2,
                pos_embed=pos_embed, pool=pool, num_classes=10)
    x = torch.rand(5, 1, 8, 8)
    assert model.num_patches == 16
    assert model.forward_features(x).shape == (5, 17, 16)
    assert model.embed(x).shape == (5, 16)
    assert model(x).shape == (5, 10)
    keep = torch.tensor([[0, 3, 5, 9]] * 5)
    assert model.forward_features(x, keep).shape == (5, 5, 16)
    assert isinstance(model.pos_embed, torch.nn.Parameter) == (pos_embed == "learned")


def test_shapes_32x32_patch_4_and_8():
    for patch, tokens in ((4, 64), (8, 16)):
        model = ViT(image_size=(32, 32), patch_size=patch, channels=1, dim=16, depth=1, heads=2)
        assert model.num_patches == tokens
        assert model(torch.rand(2, 1, 32, 32)).shape == (2, 16)  # no head: forward = embed


def test_mean_pool_is_mean_of_patch_tokens():
    model = ViT(image_size=(8, 8), patch_size=2, channels=1, dim=16, depth=1, heads=2)
    x = torch.rand(3, 1, 8, 8)
    features = model.forward_features(x)
    assert torch.allclose(model.embed(x), features[:, 1:].mean(1))


def test_subset_equals_full_when_all_kept_in_order():
    model = ViT(image_size=(8, 8), patch_size=2, channels=1, dim=16, depth=1, heads=2)
    x = torch.rand(2, 1, 8, 8)
    everything = torch.arange(16).repeat(2, 1)
    assert torch.allclose(model.forward_features(x, everything), model.forward_features(x), atol=1e-6)


def test_factory_validates_geometry():
    ctx = BuildContext(data=DataInfo(input_shape=(1, 8, 8), num_classes=10))
    assert vit(ViTConfig(patch_size=4, dim=16, heads=2), ctx)(torch.rand(1, 1, 8, 8)).shape == (1, 10)
    with pytest.raises(UserError, match="does not tile"):
        vit(ViTConfig(patch_size=3), ctx)
    with pytest.raises(UserError, match="divisible by heads"):
        vit(ViTConfig(dim=18, heads=4), ctx)
    with pytest.raises(UserError, match="image = true"):
        vit(ViTConfig(), BuildContext(data=DataInfo(input_shape=(64,), num_classes=10)))
