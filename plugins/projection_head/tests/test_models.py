"""Models: the deep linear stack and the fixed reweighting head."""

import pytest
import torch

from latentzoo.build import BuildContext, build
from latentzoo.config import ModelSpec
from latentzoo.data import DataInfo
from latentzoo_projection_head.models import FixedReweight, LinearStack


def test_linear_stack_embed_and_forward():
    model = LinearStack(3, 2, head_layers=1, init_std=0.1)
    with torch.no_grad():
        model.encoder.weight.copy_(torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]]))
        model.head[0].weight.copy_(torch.tensor([[0.0, 1.0], [3.0, 0.0]]))
    x = torch.tensor([[1.0, 2.0, 3.0]])
    assert model.embed(x).tolist() == [[7.0, 2.0]]      # h = W1 x
    assert model(x).tolist() == [[2.0, 21.0]]            # z = W2 h
    assert [tuple(w.shape) for w in model.layer_weights()] == [(2, 3), (2, 2)]
    assert all(layer.bias is None for layer in model.layers())


def test_linear_stack_without_head_and_init():
    torch.manual_seed(0)
    model = LinearStack(200, 100, head_layers=0, init_std=0.03)
    x = torch.randn(4, 200)
    assert torch.equal(model.embed(x), model(x))
    assert model.encoder.weight.std().item() == pytest.approx(0.03, rel=0.03)


def test_fixed_reweight_by_hand():
    head = FixedReweight(4, kappa=2.0)
    assert head.scale.tolist() == [1.0, 0.5, 0.25, 0.125]  # diag(1, κ⁻¹, κ⁻², κ⁻³)
    assert list(head.parameters()) == []                    # never trained
    assert head(torch.ones(1, 4)).tolist() == [[1.0, 0.5, 0.25, 0.125]]
    assert torch.equal(FixedReweight(3, 1.0)(torch.arange(3.0)), torch.arange(3.0))  # κ = 1: no head


def test_fixed_reweight_head_on_an_encoder():
    import latentzoo.plugins  # noqa: F401 - registry

    spec = ModelSpec.of("projection_head.fixed_reweight_head", kappa=1.5,
                        encoder={"name": "builtin.mlp", "hidden": [8, 6]})
    model = build(spec, BuildContext(data=DataInfo((5,), 3)), "model")
    x = torch.randn(3, 5)
    h = model.embed(x)
    assert h.shape == (3, 6)
    assert torch.allclose(model(x), h * 1.5 ** -torch.arange(6.0))
    # trainable parameters are the encoder's only (its classifier head was dropped)
    assert all(name.startswith("encoder.") for name, _ in model.named_parameters())
    assert not any("head" in name for name, _ in model.encoder.named_parameters())


def test_fixed_reweight_head_rejects_kappa_below_one():
    from latentzoo.errors import UserError

    with pytest.raises(UserError, match="kappa"):
        build(ModelSpec.of("projection_head.fixed_reweight_head", kappa=0.5),
              BuildContext(data=DataInfo((5,), 3)), "model")
