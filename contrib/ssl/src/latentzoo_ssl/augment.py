"""Two-view augmentations for contrastive learning, batched and in pure torch.

Contrastive methods (SimCLR, arXiv 2002.05709; MoCo; Wang & Liu, arXiv 2012.09740) train on two
independently augmented views ``x1 = t1(x)``, ``x2 = t2(x)`` of each example. Here the views
are drawn for a whole batch at once, on the batch's device, from the *global* torch RNG: the
training loop checkpoints that RNG, so a resumed run draws exactly the same views.

Two pipelines:

- :func:`digits_view` for small grey images such as sklearn's 8x8 digits (flat 64 or 1x8x8):
  random integer shift with zero fill, brightness scale, Gaussian noise, a square random erase,
  clip to [0, 1]. No flips: a mirrored digit is another symbol.
- :func:`shapes_view` for ``builtin.shapes`` images (C x H x W): random resized crop (SimCLR's
  crop: area fraction and aspect ratio, then resized back to H x W), horizontal flip, Gaussian
  noise, clip to [0, 1]. Flips keep the shape class (square, ellipse, heart).

:class:`TwoViewSampler` subclasses are the registered training samplers: ``sampler(batch)``
returns the batch with ``x`` replaced by ``x1`` and ``x2`` (every other key, ``y`` included,
is kept).
"""

from __future__ import annotations

import abc

import math

import attrs
import torch
import torch.nn.functional as F
from latentzoo.config import option
from latentzoo.errors import UserError

__all__ = ["DigitsTwoViewConfig", "ShapesTwoViewConfig", "DigitsTwoView", "ShapesTwoView",
           "digits_view", "shapes_view", "shift_images", "erase_squares", "resized_crop"]


# ---------------------------------------------------------------------------------------------
# Batched primitives (parameters given explicitly, so each can be tested by hand)
# ---------------------------------------------------------------------------------------------


def shift_images(images: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """Shift each image by integer (dy, dx) pixels with zero fill: ``out[i, j] = in[i - dy, j - dx]``.

    Args:
        images: (B, C, H, W).
        dy, dx: (B,) integer shifts; positive moves the content down / right.
    """
    b, _, h, w = images.shape
    pad = int(max(dy.abs().max().item(), dx.abs().max().item(), 0)) if b else 0
    padded = F.pad(images, (pad, pad, pad, pad))
    rows = torch.arange(h, device=images.device)[None, :] - dy[:, None] + pad  # (B, H)
    cols = torch.arange(w, device=images.device)[None, :] - dx[:, None] + pad  # (B, W)
    batch = torch.arange(b, device=images.device)[:, None, None]
    # advanced indexing: (B, H, W, C) -> (B, C, H, W)
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def erase_squares(images: torch.Tensor, top: torch.Tensor, left: torch.Tensor, size: int,
                  apply: torch.Tensor) -> torch.Tensor:
    """Set a ``size`` x ``size`` square at (top, left) to 0 in the images where ``apply`` is true."""
    _, _, h, w = images.shape
    rows = torch.arange(h, device=images.device)[None, :]
    cols = torch.arange(w, device=images.device)[None, :]
    in_rows = (rows >= top[:, None]) & (rows < top[:, None] + size)  # (B, H)
    in_cols = (cols >= left[:, None]) & (cols < left[:, None] + size)  # (B, W)
    mask = in_rows[:, :, None] & in_cols[:, None, :] & apply[:, None, None]
    return images.masked_fill(mask[:, None], 0.0)


def resized_crop(images: torch.Tensor, centre: torch.Tensor, extent: torch.Tensor,
                 flip: torch.Tensor) -> torch.Tensor:
    """Crop a box per image and resize it to the full image (bilinear, zero outside).

    Args:
        images: (B, C, H, W).
        centre: (B, 2) box centre (x, y) in normalised coordinates [-1, 1].
        extent: (B, 2) box width and height as fractions of the image (1 = whole image).
        flip: (B,) bool, mirror the crop left-right.
    """
    sign = 1.0 - 2.0 * flip.to(images.dtype)
    theta = torch.zeros(len(images), 2, 3, dtype=images.dtype, device=images.device)
    theta[:, 0, 0] = extent[:, 0] * sign
    theta[:, 1, 1] = extent[:, 1]
    theta[:, :, 2] = centre
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


# ---------------------------------------------------------------------------------------------
# Pipelines
# ---------------------------------------------------------------------------------------------


def _as_images(x: torch.Tensor, name: str) -> torch.Tensor:
    """(B, D) with D a square, or (B, C, H, W), as (B, C, H, W)."""
    if x.dim() == 4:
        return x
    if x.dim() == 2:
        side = math.isqrt(x.shape[1])
        if side * side == x.shape[1]:
            return x.reshape(len(x), 1, side, side)
    raise UserError(f"{name} needs images: x shaped (batch, side*side) or (batch, C, H, W), "
                    f"found {tuple(x.shape)}")


def digits_view(x: torch.Tensor, max_shift: int = 1, scale: tuple[float, float] = (0.8, 1.2),
                noise_std: float = 0.05, erase_size: int = 3, erase_prob: float = 0.5,
                clip: bool = True) -> torch.Tensor:
    """One random view of each small grey image; the output has the input's shape.

    In order: shift by (dy, dx) ~ U{-max_shift..max_shift}² with zero fill; multiply by
    a ~ U(scale); add N(0, noise_std²) per pixel; with probability ``erase_prob`` zero an
    ``erase_size``² square at a uniform position; clip to [0, 1].
    """
    images = _as_images(x, "the digits augmentation")
    b, _, h, w = images.shape
    device = images.device
    out = images
    if max_shift > 0:
        dy = torch.randint(-max_shift, max_shift + 1, (b,), device=device)
        dx = torch.randint(-max_shift, max_shift + 1, (b,), device=device)
        out = shift_images(out, dy, dx)
    low, high = scale
    if (low, high) != (1.0, 1.0):
        out = out * (low + (high - low) * torch.rand(b, 1, 1, 1, device=device, dtype=out.dtype))
    if noise_std > 0:
        out = out + noise_std * torch.randn_like(out)
    if erase_prob > 0 and erase_size > 0:
        size = min(erase_size, h, w)
        top = torch.randint(0, h - size + 1, (b,), device=device)
        left = torch.randint(0, w - size + 1, (b,), device=device)
        apply = torch.rand(b, device=device) < erase_prob
        out = erase_squares(out, top, left, size, apply)
    if clip:
        out = out.clamp(0.0, 1.0)
    return out.reshape(x.shape)


def shapes_view(x: torch.Tensor, crop_area: tuple[float, float] = (0.5, 1.0),
                aspect: tuple[float, float] = (3 / 4, 4 / 3), flip_prob: float = 0.5,
                noise_std: float = 0.05, clip: bool = True) -> torch.Tensor:
    """One random view of each image: random resized crop, horizontal flip, noise, clip.

    The crop (SimCLR's ``RandomResizedCrop``) has area fraction a ~ U(crop_area) and aspect
    ratio r log-uniform in ``aspect``: width sqrt(a·r), height sqrt(a/r) (each at most 1), at
    a uniform position inside the image; it is resized back to H x W bilinearly.
    """
    images = _as_images(x, "the shapes augmentation")
    b = len(images)
    device, dtype = images.device, images.dtype
    area = crop_area[0] + (crop_area[1] - crop_area[0]) * torch.rand(b, device=device, dtype=dtype)
    log_low, log_high = math.log(aspect[0]), math.log(aspect[1])
    ratio = torch.exp(log_low + (log_high - log_low) * torch.rand(b, device=device, dtype=dtype))
    extent = torch.stack([(area * ratio).sqrt(), (area / ratio).sqrt()], 1).clamp(max=1.0)
    # the box [c - e, c + e] (normalised, half-size e = extent) stays inside [-1, 1]
    centre = (1.0 - extent) * (2.0 * torch.rand(b, 2, device=device, dtype=dtype) - 1.0)
    flip = torch.rand(b, device=device) < flip_prob
    out = resized_crop(images, centre, extent, flip)
    if noise_std > 0:
        out = out + noise_std * torch.randn_like(out)
    if clip:
        out = out.clamp(0.0, 1.0)
    return out.reshape(x.shape)


# ---------------------------------------------------------------------------------------------
# Registered samplers
# ---------------------------------------------------------------------------------------------


def _check_range(name: str, pair: tuple[float, float]) -> None:
    if pair[0] > pair[1]:
        raise UserError(f"{name}: the range must be (low, high) with low <= high, found {pair}")


@attrs.frozen
class DigitsTwoViewConfig:
    max_shift: int = option(1, "largest integer shift in pixels (each axis, zero fill)", ge=0)
    scale: tuple[float, float] = option((0.8, 1.2), "brightness factor range U(low, high)", ge=0)
    noise_std: float = option(0.05, "std of additive Gaussian pixel noise", ge=0)
    erase_size: int = option(3, "side of the erased square (0: no erase)", ge=0)
    erase_prob: float = option(0.5, "probability of erasing a square", ge=0, le=1)
    clip: bool = option(True, "clip the view to [0, 1]")


@attrs.frozen
class ShapesTwoViewConfig:
    crop_area: tuple[float, float] = option((0.5, 1.0), "area fraction range of the random crop", gt=0, le=1)
    aspect: tuple[float, float] = option((3 / 4, 4 / 3), "aspect-ratio range of the crop (log-uniform)", gt=0)
    flip_prob: float = option(0.5, "probability of a horizontal flip", ge=0, le=1)
    noise_std: float = option(0.05, "std of additive Gaussian pixel noise", ge=0)
    clip: bool = option(True, "clip the view to [0, 1]")


class TwoViewSampler(abc.ABC):
    """``sampler({x, y, ...}) -> {x1, x2, y, ...}``: two independent views of every example."""

    name = "two-view sampler"

    @abc.abstractmethod
    def view(self, x: torch.Tensor) -> torch.Tensor:
        """Implemented by each subclass."""

    def __call__(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if "x" not in batch:
            raise UserError(f"{self.name}: the batch has no 'x' (keys: {', '.join(batch)})")
        rest = {key: value for key, value in batch.items() if key != "x"}
        x = batch["x"]
        return {**rest, "x1": self.view(x), "x2": self.view(x)}


def _input_shape(ctx) -> tuple[int, ...] | None:
    data = getattr(ctx, "data", None)
    return tuple(data.input_shape) if data is not None else None


class DigitsTwoView(TwoViewSampler):
    name = "ssl.digits_twoview"

    def __init__(self, config: DigitsTwoViewConfig, ctx=None):
        _check_range("scale", config.scale)
        shape = _input_shape(ctx)
        if shape is not None and not (len(shape) == 3 or (len(shape) == 1 and
                                                          math.isqrt(shape[0]) ** 2 == shape[0])):
            raise UserError(f"needs image data, flat (side*side,) or (C, H, W); the data has "
                            f"input shape {shape}")
        if shape is not None and config.erase_size > min(shape[-2:] if len(shape) == 3
                                                         else (math.isqrt(shape[0]),) * 2):
            raise UserError(f"erase_size {config.erase_size} is larger than the images {shape}")
        self.config = config

    def view(self, x: torch.Tensor) -> torch.Tensor:
        c = self.config
        return digits_view(x, c.max_shift, c.scale, c.noise_std, c.erase_size, c.erase_prob, c.clip)


class ShapesTwoView(TwoViewSampler):
    name = "ssl.shapes_twoview"

    def __init__(self, config: ShapesTwoViewConfig, ctx=None):
        _check_range("crop_area", config.crop_area)
        _check_range("aspect", config.aspect)
        shape = _input_shape(ctx)
        if shape is not None and len(shape) != 3:
            raise UserError(f"needs images shaped (C, H, W) such as builtin.shapes; the data has "
                            f"input shape {shape}")
        self.config = config

    def view(self, x: torch.Tensor) -> torch.Tensor:
        c = self.config
        return shapes_view(x, c.crop_area, c.aspect, c.flip_prob, c.noise_std, c.clip)
