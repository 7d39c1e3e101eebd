"""The hyperspherical classifier's math, against values computed by hand (spec tests 1, 2, 3, 5)."""

import math

import pytest
import torch
from latentzoo_hyperspherical.models import (
    HypersphereClassifier,
    ModuleNormalization,
    PlainSoftmaxClassifier,
    UnitNormLinear,
)


def identity_model(dim: int, classes: int, scale: float = 10.0, **kw) -> HypersphereClassifier:
    """A classifier whose encoder is the identity map (no hidden layer, W = I, b = 0)."""
    model = HypersphereClassifier(dim, (), dim, classes, scale, **kw)
    with torch.no_grad():
        model.encoder[0].weight.copy_(torch.eye(dim))
        model.encoder[0].bias.zero_()
    return model


def test_module_normalization_hand_values():
    # z = (3, 4): ‖z‖ = 5, s = 10 -> 10·(0.6, 0.8) = (6, 8)
    out = ModuleNormalization(10.0)(torch.tensor([[3.0, 4.0]]))
    assert torch.allclose(out, torch.tensor([[6.0, 8.0]]), atol=1e-6)


def test_module_normalization_keras_floor_and_sign():
    norm = ModuleNormalization(10.0)
    # ‖x‖ = 1e-8 < 1e-6: Keras l2_normalize gives |s|·x·1e6, norm 10·1e-8·1e6 = 0.1
    tiny = torch.tensor([[1e-8, 0.0]], dtype=torch.float64)
    assert norm(tiny).norm().item() == pytest.approx(0.1, rel=1e-9)
    assert torch.equal(norm(torch.zeros(1, 3)), torch.zeros(1, 3))
    # a negative s acts as |s|; an integer s is cast to float
    assert torch.allclose(ModuleNormalization(-10)(torch.tensor([[3.0, 4.0]])), torch.tensor([[6.0, 8.0]]))
    assert isinstance(ModuleNormalization(10).scale, float)


def test_projection_hand_values_and_axis():
    layer = UnitNormLinear(2, 3, project_at_init=False)
    with torch.no_grad():  # 3 classes x 2 dims: rows are classes (torch (out, in) layout)
        layer.weight.copy_(torch.tensor([[3.0, 4.0], [0.0, 2.0], [-1.0, 0.0]]))
    layer.project_()
    # w / (1e-7 + ‖w‖): (3, 4)/(5 + 1e-7), (0, 2)/(2 + 1e-7), (-1, 0)/(1 + 1e-7)
    expected = torch.tensor([[3 / (5 + 1e-7), 4 / (5 + 1e-7)], [0.0, 2 / (2 + 1e-7)],
                             [-1 / (1 + 1e-7), 0.0]])
    assert torch.allclose(layer.weight, expected, atol=1e-7)
    assert torch.allclose(layer.weight.norm(dim=1), torch.ones(3), atol=1e-6)
    # the columns (input features) are NOT unit norm: the wrong axis would make them so
    assert not torch.allclose(layer.weight.norm(dim=0), torch.ones(2), atol=1e-3)


def test_logits_are_scaled_cosines_after_projection():
    """Spec test 1: logits == s·cos(z, w_c), ‖w_c‖ = 1, no bias."""
    torch.manual_seed(0)
    model = HypersphereClassifier(6, (5,), 4, 3, scale=7.0)
    with torch.no_grad():
        model.classifier.weight.mul_(torch.tensor([[2.0], [0.3], [5.0]]))
    model.project_weights()
    x = torch.randn(8, 6)
    z = model.encoder(x)
    w = model.classifier.weight
    by_hand = 7.0 * (z @ w.T) / (z.norm(dim=1, keepdim=True) * w.norm(dim=1)[None, :])
    assert torch.allclose(model(x), by_hand, atol=1e-6)
    assert torch.allclose(w.norm(dim=1), torch.ones(3), atol=1e-6)
    assert not any("bias" in name for name, _ in model.classifier.named_parameters())
    # hand example: z = (3, 4), w = (1, 0), (0, 1); s = 10 -> (6, 8)
    toy = identity_model(2, 2)
    with torch.no_grad():
        toy.classifier.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
    toy.project_weights()
    assert torch.allclose(toy(torch.tensor([[3.0, 4.0]])), torch.tensor([[6.0, 8.0]]), atol=1e-5)


def test_output_invariant_to_embedding_scale():
    """Spec test 2: z -> 3z (last encoder layer scaled) leaves the logits unchanged."""
    torch.manual_seed(1)
    model = HypersphereClassifier(5, (7,), 4, 3)
    x = torch.randn(6, 5)
    before = model(x)
    with torch.no_grad():
        model.encoder[-1].weight.mul_(3.0)
        model.encoder[-1].bias.mul_(3.0)
    assert torch.allclose(model(x), before, atol=1e-6)


def test_add_class_hand_values():
    """Spec test 3: new row = normalize(mean(s·normalize(z_i))), old rows bit-identical, C + 1."""
    model = identity_model(2, 2)
    old = model.classifier.weight.detach().clone()
    extended = model.add_class(torch.tensor([[3.0, 4.0], [0.0, 5.0]]))
    # z̃ = 10·(0.6, 0.8), 10·(0, 1); mean (3, 9); unit (3, 9)/√90
    row = extended.classifier.weight[-1].detach()
    assert torch.allclose(row, torch.tensor([3.0, 9.0]) / math.sqrt(90.0), atol=1e-6)
    assert row.norm().item() == pytest.approx(1.0, abs=1e-6)
    assert torch.equal(extended.classifier.weight[:2].detach(), old)
    assert extended(torch.randn(4, 2)).shape == (4, 3)
    assert model.classifier.weight.shape == (2, 2)  # the original is untouched


def test_averaging_after_normalisation_not_raw():
    """Pitfall: averaging raw z lets a large-norm sample dominate; the paper averages z̃."""
    model = identity_model(2, 1)
    row = model.add_class(torch.tensor([[100.0, 0.0], [0.0, 1.0]])).classifier.weight[-1]
    # z̃ = 10·(1, 0), 10·(0, 1) -> direction (1, 1)/√2 (raw mean would be ≈ (1, 0.01))
    assert torch.allclose(row.detach(), torch.tensor([1.0, 1.0]) / math.sqrt(2.0), atol=1e-6)


@pytest.mark.parametrize("scale", [0.0, 1000.0])
def test_softmax_limits(scale):
    """Spec test 5: s -> ∞ gives one-hot argmax-cosine; s = 0 gives 1/C."""
    torch.manual_seed(2)
    norm, layer = ModuleNormalization(scale), UnitNormLinear(3, 4)
    z = torch.randn(5, 3)
    probabilities = layer(norm(z)).softmax(-1)
    if scale == 0.0:
        assert torch.allclose(probabilities, torch.full((5, 4), 0.25))
    else:
        cosines = (z @ layer.weight.T) / (z.norm(dim=1, keepdim=True) * layer.weight.norm(dim=1))
        onehot = torch.nn.functional.one_hot(cosines.argmax(-1), 4).float()
        assert torch.allclose(probabilities, onehot, atol=1e-4)


def test_reparam_same_forward_different_gradient():
    torch.manual_seed(3)
    project = HypersphereClassifier(4, (), 3, 2, weight_mode="project")
    reparam = HypersphereClassifier(4, (), 3, 2, weight_mode="reparam")
    reparam.load_state_dict(project.state_dict())
    x = torch.randn(5, 4)
    assert torch.allclose(project(x), reparam(x), atol=1e-6)
    for model in (project, reparam):
        model(x)[:, 0].sum().backward()
    w = project.classifier.weight.detach()
    # reparam: the gradient of a function of w/‖w‖ is orthogonal to w; project: it is not
    radial_reparam = (reparam.classifier.weight.grad * w).sum(1)
    radial_project = (project.classifier.weight.grad * w).sum(1)
    assert torch.allclose(radial_reparam, torch.zeros(2), atol=1e-5)
    assert radial_project.abs().max() > 1e-2


def test_project_at_init_false_keeps_raw_kernel():
    torch.manual_seed(4)
    layer = UnitNormLinear(8, 3, project_at_init=False)
    assert not torch.allclose(layer.weight.norm(dim=1), torch.ones(3), atol=1e-3)
    assert torch.allclose(UnitNormLinear(8, 3).weight.norm(dim=1), torch.ones(3), atol=1e-6)


def test_plain_joint_head_rescales_novel_rows():
    model = PlainSoftmaxClassifier(2, (), 2, 2)
    with torch.no_grad():
        model.head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
        model.head.bias.copy_(torch.tensor([0.5, -0.5]))
    weight, bias = model.joint_head(torch.tensor([[0.6, 0.8]]))
    # mean base-weight norm (1 + 2)/2 = 1.5 -> novel row 1.5·(0.6, 0.8) = (0.9, 1.2), bias 0
    assert torch.allclose(weight, torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.9, 1.2]]))
    assert torch.allclose(bias, torch.tensor([0.5, -0.5, 0.0]))


def test_new_class_model_is_the_disjoint_classifier():
    """CreateNewModel + AddNewClass for each novel class: rows = unit mean z̃ of each class."""
    from latentzoo_hyperspherical.novel import new_class_model

    model = identity_model(2, 3)
    disjoint = new_class_model(model, [torch.tensor([[3.0, 4.0], [0.0, 5.0]]), torch.tensor([[-2.0, 0.0]])])
    expected = torch.tensor([[3.0, 9.0], [-10.0, 0.0]])
    expected = expected / expected.norm(dim=1, keepdim=True)
    assert torch.allclose(disjoint.classifier.weight.detach(), expected, atol=1e-6)
    # z = (−1, 0.1) is closest in angle to the second novel class
    assert disjoint(torch.tensor([[-1.0, 0.1]])).argmax(-1).tolist() == [1]
    assert model.classifier.weight.shape == (3, 2)
