"""Model wiring: stitching (spec test 4), no gradient through the anchors (spec test 5),
end-to-end invariance of a relative model to an isometry of its latent space."""

import copy

import pytest
import torch
import torch.nn.functional as F
from latentzoo.build import BuildContext
from latentzoo.data import DataInfo
from latentzoo.errors import UserError
from latentzoo_relreps.models import ModelConfig, Stitched, classifier, relative_projection
from relreps_helpers import isometric_copy, make_model

X = torch.randn(20, 6, generator=torch.Generator().manual_seed(7))


def test_stitched_with_itself_is_the_model():
    model = make_model(0)
    assert torch.equal(Stitched(model, model)(X), model(X))


def test_stitched_uses_encoder_of_source_and_head_of_target():
    source, target = make_model(0), make_model(1)
    # by hand: target's LayerNorm and MLP on r computed with source's encoder and source's anchor latents
    r = relative_projection(source.encoder(X), source.encoder(source.anchors))
    expected = target.head.mlp(F.layer_norm(r, (8,), target.head.norm.weight, target.head.norm.bias))
    out = Stitched(source, target)(X)
    torch.testing.assert_close(out, expected)
    # perturbing the target's encoder or the source's head changes nothing
    with torch.no_grad():
        target.encoder.net[0].weight.add_(1.0)
        source.head.mlp[0].weight.add_(1.0)
        source.head.norm.weight.mul_(3.0)
    assert torch.equal(Stitched(source, target)(X), out)
    # the target's LayerNorm does matter
    with torch.no_grad():
        target.head.norm.bias.add_(0.5)
    assert not torch.allclose(Stitched(source, target)(X), out)


def test_anchor_path_has_no_gradient():
    # spec test 5: gradients equal those of a version whose anchors are embedded by a detached copy
    model = make_model(0)
    y = torch.randint(0, 3, (20,), generator=torch.Generator().manual_seed(0))
    F.cross_entropy(model(X), y).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}

    reference = copy.deepcopy(model)
    reference.zero_grad()
    frozen = copy.deepcopy(reference.encoder)
    anchor_latents = frozen(reference.anchors).detach()
    r = relative_projection(reference.encoder(X), anchor_latents)
    F.cross_entropy(reference.head(r), y).backward()
    for name, parameter in reference.named_parameters():
        torch.testing.assert_close(grads[name], parameter.grad, msg=name)


def test_relative_model_is_invariant_to_latent_isometry():
    # a head trained on model a works unchanged on an encoder whose latents are 3.7 e_x Q
    model = make_model(0)
    moved = isometric_copy(model, scale=3.7)
    assert not torch.allclose(moved.encode(X), model.encode(X), atol=1e-2)
    torch.testing.assert_close(Stitched(moved, model)(X), model(X), atol=1e-5, rtol=1e-5)


def test_absolute_model_is_not_invariant():
    model = make_model(0, space="absolute")
    moved = isometric_copy(model, scale=3.7)
    assert (Stitched(moved, model)(X) - model(X)).abs().max() > 1e-2


def test_stitching_refuses_other_anchors_and_mixed_spaces():
    with pytest.raises(UserError, match="parallel anchors"):
        Stitched(make_model(0), make_model(1, anchors=torch.randn(8, 6)))
    with pytest.raises(UserError, match="absolute encoder to a relative head"):
        Stitched(make_model(0, space="absolute"), make_model(1))
    with pytest.raises(UserError, match="head expects 4"):
        Stitched(make_model(0, space="absolute", latent=5), make_model(1, space="absolute"))


def test_factory_checks_config():
    info = DataInfo(input_shape=(6,), num_classes=3)
    with pytest.raises(UserError, match="relreps.digits_anchored"):
        classifier(ModelConfig(), BuildContext(data=info))
    info.extras["anchors"] = torch.randn(8, 6)
    with pytest.raises(UserError, match="space = 'relative' only"):
        classifier(ModelConfig(space="absolute", similarity="inner"), BuildContext(data=info))
    model = classifier(ModelConfig(latent_dim=4), BuildContext(data=info))
    assert model(X).shape == (20, 3) and model.embed(X).shape == (20, 8)
    assert classifier(ModelConfig(space="absolute", latent_dim=4), BuildContext(data=info)).embed(X).shape == (20, 4)


def test_config_ranges():
    with pytest.raises(ValueError, match="must be > 0"):
        ModelConfig(latent_dim=0)
    with pytest.raises(ValueError, match="must be one of"):
        ModelConfig(similarity="euclidean")
