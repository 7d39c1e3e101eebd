"""The projection-head wrapper: embed() is the encoder's features, forward() goes through g."""

import torch
from latentzoo.build import BuildContext
from latentzoo.config import ModelSpec, structure
from latentzoo.data import DataInfo
from latentzoo_ssl.models import ProjectionHeadConfig, projection_head


def build(**fields):
    ctx = BuildContext(data=DataInfo(input_shape=(64,), num_classes=10))
    config = structure({"encoder": {"name": "builtin.mlp", "hidden": [32, 16]}, **fields}, ProjectionHeadConfig)
    return projection_head(config, ctx)


def test_embed_is_encoder_features_and_forward_is_projected():
    torch.manual_seed(0)
    model = build(hidden=[8], out_dim=4)
    x = torch.rand(5, 64)
    assert model.embed(x).shape == (5, 16)  # the MLP's last hidden layer
    assert torch.equal(model.embed(x), model.encoder.body(x))
    assert model(x).shape == (5, 4)
    assert isinstance(model.encoder.head, torch.nn.Identity)  # the unused head is dropped
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_forward_features_keep_the_encoder_output():
    model = build(features="forward", hidden=[], out_dim=3)
    assert model.embed(torch.rand(2, 64)).shape == (2, 10)  # builtin.mlp's head: 10 classes
    assert len(model.projector) == 1


def test_default_encoder_is_builtin_mlp():
    assert ProjectionHeadConfig().encoder == ModelSpec.of("builtin.mlp")
