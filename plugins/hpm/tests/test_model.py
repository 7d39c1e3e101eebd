"""The masked autoencoder's layout: decoder order, targets and predictions of the same patches."""

import pytest
import torch
from torch import nn

from latentzoo.build import BuildContext
from latentzoo.data import DataInfo
from latentzoo.errors import UserError
from latentzoo_hpm.model import MAEConfig, MaskedAutoencoderViT, mae_vit
from latentzoo_vit.vit import gather_tokens


def tiny(**kw):
    torch.manual_seed(0)
    return MaskedAutoencoderViT(image_size=(8, 8), patch_size=2, channels=1, dim=16, depth=1, heads=2,
                                decoder_dim=16, decoder_depth=1, decoder_heads=2, **kw)


def index_images(batch):
    """Images whose patch i has every pixel equal to i (patch-index encoding)."""
    patches = torch.arange(16.0).repeat(batch, 1)
    return patches.reshape(batch, 4, 4).repeat_interleave(2, 1).repeat_interleave(2, 2).unsqueeze(1)


def random_mask(batch, masked, seed=0):
    noise = torch.rand(batch, 16, generator=torch.Generator().manual_seed(seed))
    return torch.zeros(batch, 16, dtype=torch.bool).scatter_(1, noise.topk(masked, 1).indices, True)


def test_shapes():
    model = tiny()
    x = torch.rand(3, 1, 8, 8)
    out = model.forward_masked(x, random_mask(3, 12))
    assert out.pixels.shape == (3, 16, 4) and out.loss_pred.shape == (3, 16) and out.num_masked == 12
    assert model.predict_patch_loss(x).shape == (3, 16)
    assert model.embed(x).shape == (3, 16) and model(x).shape == (3, 16)


def test_targets_and_masked_tail_refer_to_the_same_patches():
    # spec test 4: row r of the masked tail and row r of target[mask] are the same patch
    mask = random_mask(5, 12, seed=3)
    model = tiny()
    out = model.forward_masked(index_images(5), mask)
    expected_ids = torch.stack([row.nonzero().flatten() for row in mask])     # ascending
    assert torch.equal(out.masked_ids, expected_ids)
    target = gather_tokens(model.patches(index_images(5)), out.masked_ids)
    assert torch.equal(target[..., 0], expected_ids.float())
    assert torch.equal(target, model.patches(index_images(5))[mask].reshape(5, 12, 4))   # official x[mask]


def test_decoder_positions_follow_the_order():
    # With an identity reconstructor, the output at masked-tail position r is
    # to_pixels(mask_token + decoder_pos[1 + id_r]): the position of that very patch.
    model = tiny()
    model.reconstructor = nn.Identity()
    mask = random_mask(2, 12, seed=4)
    out = model.forward_masked(torch.rand(2, 1, 8, 8), mask, predict_loss=False)
    ids = out.masked_ids
    expected = model.to_pixels(model.mask_token + model.decoder_pos_embed[0, 1:][ids])
    assert torch.allclose(out.pixels[:, -12:], expected, atol=1e-6)


def test_encoder_sees_only_visible_patches():
    model = tiny()
    mask = random_mask(2, 12, seed=5)
    x = torch.rand(2, 1, 8, 8)
    y = x.clone()
    patches = model.patches(y)
    patches[mask] = 7.0                                 # change only the masked patches
    y = patches.reshape(2, 4, 4, 2, 2).permute(0, 1, 3, 2, 4).reshape(2, 1, 8, 8)
    assert not torch.equal(x, y)
    a, b = model.forward_masked(x, mask), model.forward_masked(y, mask)
    assert torch.allclose(a.pixels, b.pixels) and torch.allclose(a.loss_pred, b.loss_pred)


def test_plain_mae_and_config_errors():
    model = tiny(loss_predictor=False)
    with pytest.raises(UserError, match="no loss predictor"):
        model.forward_masked(torch.rand(1, 1, 8, 8), random_mask(1, 12))
    ctx = BuildContext(data=DataInfo(input_shape=(1, 8, 8), num_classes=10))
    assert mae_vit(MAEConfig(dim=16, heads=2, decoder_dim=16, decoder_heads=2), ctx).num_patches == 16
    with pytest.raises(UserError, match="does not tile"):
        mae_vit(MAEConfig(patch_size=3), ctx)
    with pytest.raises(UserError, match="image = true"):
        mae_vit(MAEConfig(), BuildContext(data=DataInfo(input_shape=(64,), num_classes=10)))
    shapes = BuildContext(data=DataInfo(input_shape=(1, 32, 32), num_classes=3))
    assert mae_vit(MAEConfig(patch_size=8, dim=16, heads=2, decoder_dim=16, decoder_heads=2),
                   shapes).num_patches == 16
