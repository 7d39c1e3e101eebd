"""Two-view augmentations: primitives pinned by hand, pipelines checked for range, shape, RNG."""

import pytest
import torch
from latentzoo.build import BuildContext
from latentzoo.data import DataInfo
from latentzoo.errors import UserError
from latentzoo_ssl.augment import (
    DigitsTwoView,
    DigitsTwoViewConfig,
    ShapesTwoView,
    ShapesTwoViewConfig,
    digits_view,
    erase_squares,
    resized_crop,
    shapes_view,
    shift_images,
)


def grid(h=3, w=3):
    return torch.arange(1.0, h * w + 1).reshape(1, 1, h, w)


def test_shift_by_hand():
    image = grid()  # [[1,2,3],[4,5,6],[7,8,9]]
    down_right = shift_images(image, torch.tensor([1]), torch.tensor([1]))
    assert down_right[0, 0].tolist() == [[0, 0, 0], [0, 1, 2], [0, 4, 5]]
    up = shift_images(image, torch.tensor([-1]), torch.tensor([0]))
    assert up[0, 0].tolist() == [[4, 5, 6], [7, 8, 9], [0, 0, 0]]
    same = shift_images(image, torch.tensor([0]), torch.tensor([0]))
    assert torch.equal(same, image)


def test_shift_is_per_image():
    images = torch.cat([grid(), grid()])
    out = shift_images(images, torch.tensor([0, 0]), torch.tensor([1, -1]))
    assert out[0, 0, 0].tolist() == [0, 1, 2]
    assert out[1, 0, 0].tolist() == [2, 3, 0]


def test_erase_by_hand():
    images = torch.ones(2, 1, 4, 4)
    out = erase_squares(images, torch.tensor([1, 0]), torch.tensor([2, 0]), 2, torch.tensor([True, False]))
    expected = torch.ones(4, 4)
    expected[1:3, 2:4] = 0
    assert torch.equal(out[0, 0], expected)
    assert torch.equal(out[1], images[1])  # not applied


def test_resized_crop_identity_and_flip():
    image = grid(4, 4)
    full = torch.tensor([[1.0, 1.0]])
    centre = torch.zeros(1, 2)
    assert torch.allclose(resized_crop(image, centre, full, torch.tensor([False])), image, atol=1e-5)
    assert torch.allclose(resized_crop(image, centre, full, torch.tensor([True])), image.flip(-1), atol=1e-5)
    # the top-left quarter (centre (-0.5, -0.5), half extent) scaled up x2: output pixel (1, 1)
    # (normalised -0.25) samples input -0.625 = pixel coordinate 0.25 on both axes, so the
    # bilinear weights on pixels 1, 2, 5, 6 are .75², .75·.25, .25·.75, .25²
    quarter = resized_crop(image, torch.tensor([[-0.5, -0.5]]), torch.tensor([[0.5, 0.5]]), torch.tensor([False]))
    assert quarter[0, 0, 1, 1].item() == pytest.approx(1 * 0.5625 + 2 * 0.1875 + 5 * 0.1875 + 6 * 0.0625)


def test_digits_view_shapes_range_and_rng():
    x = torch.rand(16, 64)
    torch.manual_seed(3)
    a = digits_view(x)
    torch.manual_seed(3)
    b = digits_view(x)
    assert torch.equal(a, b)  # the global RNG decides everything: resume reproduces the views
    assert a.shape == x.shape and a.min() >= 0 and a.max() <= 1
    assert not torch.equal(a, digits_view(x))
    assert digits_view(torch.rand(4, 1, 8, 8)).shape == (4, 1, 8, 8)


def test_digits_view_without_randomness_is_identity():
    x = torch.rand(5, 64)
    out = digits_view(x, max_shift=0, scale=(1.0, 1.0), noise_std=0.0, erase_prob=0.0)
    assert torch.equal(out, x)


def test_digits_view_erases_exactly_one_square():
    x = torch.ones(8, 1, 8, 8)
    out = digits_view(x, max_shift=0, scale=(1.0, 1.0), noise_std=0.0, erase_size=3, erase_prob=1.0)
    assert (out == 0).flatten(1).sum(1).tolist() == [9] * 8


def test_shapes_view_range_and_shape():
    torch.manual_seed(0)
    x = (torch.rand(6, 1, 32, 32) > 0.5).float()
    out = shapes_view(x)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    plain = shapes_view(x, crop_area=(1.0, 1.0), aspect=(1.0, 1.0), flip_prob=0.0, noise_std=0.0)
    assert torch.allclose(plain, x, atol=1e-5)


def test_samplers_turn_x_into_two_views():
    ctx = BuildContext(data=DataInfo(input_shape=(64,), num_classes=10))
    sampler = DigitsTwoView(DigitsTwoViewConfig(), ctx)
    batch = sampler({"x": torch.rand(4, 64), "y": torch.arange(4)})
    assert set(batch) == {"x1", "x2", "y"}
    assert batch["x1"].shape == (4, 64) and not torch.equal(batch["x1"], batch["x2"])
    shapes = ShapesTwoView(ShapesTwoViewConfig(), BuildContext(data=DataInfo(input_shape=(1, 32, 32))))
    assert set(shapes({"x": torch.rand(2, 1, 32, 32), "y": torch.zeros(2), "factors": torch.zeros(2, 5)})) == {
        "x1", "x2", "y", "factors"}


def test_samplers_reject_bad_configs():
    with pytest.raises(UserError, match="needs image data"):
        DigitsTwoView(DigitsTwoViewConfig(), BuildContext(data=DataInfo(input_shape=(40,))))
    with pytest.raises(UserError, match="erase_size"):
        DigitsTwoView(DigitsTwoViewConfig(erase_size=9), BuildContext(data=DataInfo(input_shape=(64,))))
    with pytest.raises(UserError, match="low <= high"):
        DigitsTwoView(DigitsTwoViewConfig(scale=(1.2, 0.8)), None)
    with pytest.raises(UserError, match="C, H, W"):
        ShapesTwoView(ShapesTwoViewConfig(), BuildContext(data=DataInfo(input_shape=(64,))))
