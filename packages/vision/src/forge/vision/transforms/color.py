"""Colour transforms and the batched photometric operations the augmentation policies use.

Every operation takes a batch ``(N, C, H, W)`` of floats in [0, 1] and a per-image factor tensor
``(N,)``, so one call transforms every image of a batch with its own strength. Operations that
need colour (saturation, hue) leave single-channel images unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from forge.core.errors import DataError
from forge.vision.transforms.base import Transform, sample_uniform
from forge.vision.transforms.configs import ColorJitterConfig, NormalizeConfig

__all__ = [
    "ColorJitter",
    "Normalize",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_hue",
    "adjust_saturation",
    "adjust_sharpness",
    "autocontrast",
    "equalize",
    "grayscale",
    "hsv_to_rgb",
    "posterize",
    "rgb_to_hsv",
    "solarize",
]


def _per_image(factor: Tensor, images: Tensor) -> Tensor:
    return factor.to(device=images.device, dtype=images.dtype).view(-1, 1, 1, 1)


def _blend(images: Tensor, other: Tensor, factor: Tensor) -> Tensor:
    f = _per_image(factor, images)
    return (f * images + (1 - f) * other).clamp(0, 1)


def _check_color(images: Tensor, where: str) -> bool:
    """True for RGB batches, False for grayscale; raises for other channel counts."""
    channels = images.shape[1]
    if channels not in (1, 3):
        raise DataError(f"{where}: expected 1 or 3 channels, got {channels} (shape {tuple(images.shape)})")
    return channels == 3


def grayscale(images: Tensor) -> Tensor:
    """ITU-R 601 luma of an RGB batch as ``(N, 1, H, W)``; a grayscale batch is returned as is."""
    if images.shape[1] == 1:
        return images
    r, g, b = images.unbind(1)
    return (0.299 * r + 0.587 * g + 0.114 * b).unsqueeze(1)


def adjust_brightness(images: Tensor, factor: Tensor) -> Tensor:
    """Multiply each image by its factor (0 gives black, 1 the original)."""
    return _blend(images, torch.zeros_like(images), factor)


def adjust_contrast(images: Tensor, factor: Tensor) -> Tensor:
    """Blend each image with its mean gray level (0 gives flat gray, 1 the original)."""
    _check_color(images, "adjust_contrast")
    mean = grayscale(images).mean(dim=(1, 2, 3), keepdim=True)
    return _blend(images, mean.expand_as(images), factor)


def adjust_saturation(images: Tensor, factor: Tensor) -> Tensor:
    """Blend each RGB image with its grayscale version (0 gives gray, 1 the original)."""
    if not _check_color(images, "adjust_saturation"):
        return images
    return _blend(images, grayscale(images).expand_as(images), factor)


def rgb_to_hsv(images: Tensor) -> Tensor:
    """Convert an RGB batch in [0, 1] to HSV, every channel in [0, 1]."""
    r, g, b = images.unbind(1)
    maxc, _ = images.max(1)
    minc, _ = images.min(1)
    eqc = maxc == minc
    cr = maxc - minc
    ones = torch.ones_like(maxc)
    s = cr / torch.where(eqc, ones, maxc)
    cr_divisor = torch.where(eqc, ones, cr)
    rc = (maxc - r) / cr_divisor
    gc = (maxc - g) / cr_divisor
    bc = (maxc - b) / cr_divisor
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = torch.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return torch.stack((h, s, maxc), 1)


def hsv_to_rgb(images: Tensor) -> Tensor:
    """Convert an HSV batch (every channel in [0, 1]) back to RGB."""
    h, s, v = images.unbind(1)
    i = torch.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.to(torch.int64) % 6
    p = (v * (1.0 - s)).clamp(0, 1)
    q = (v * (1.0 - s * f)).clamp(0, 1)
    t = (v * (1.0 - s * (1.0 - f))).clamp(0, 1)
    mask = i.unsqueeze(1) == torch.arange(6, device=i.device).view(-1, 1, 1)
    a1 = torch.stack((v, q, p, p, t, v), 1)
    a2 = torch.stack((t, v, v, q, p, p), 1)
    a3 = torch.stack((p, p, t, v, v, q), 1)
    a4 = torch.stack((a1, a2, a3), 1)
    return torch.einsum("...ijk, ...xijk -> ...xjk", mask.to(images.dtype), a4)


def adjust_hue(images: Tensor, shift: Tensor) -> Tensor:
    """Rotate the hue of each RGB image by its shift, in turns within [-0.5, 0.5]."""
    if not _check_color(images, "adjust_hue"):
        return images
    hsv = rgb_to_hsv(images)
    h = torch.remainder(hsv[:, 0] + _per_image(shift, images)[:, 0], 1.0)
    return hsv_to_rgb(torch.stack((h, hsv[:, 1], hsv[:, 2]), 1))


def adjust_sharpness(images: Tensor, factor: Tensor) -> Tensor:
    """Blend each image with a smoothed copy (0 gives the smoothed image, 2 doubles the detail).

    The border pixels keep their value, as in PIL's ``ImageEnhance.Sharpness``.
    """
    if images.shape[-1] <= 2 or images.shape[-2] <= 2:
        return images
    c = images.shape[1]
    kernel = torch.ones(3, 3, dtype=images.dtype, device=images.device)
    kernel[1, 1] = 5.0
    kernel = (kernel / kernel.sum()).expand(c, 1, 3, 3)
    blurred = images.clone()
    blurred[..., 1:-1, 1:-1] = F.conv2d(images, kernel, groups=c)
    return _blend(images, blurred, factor)


def posterize(images: Tensor, bits: Tensor) -> Tensor:
    """Keep the top ``bits`` bits (per image, 1 to 8) of each 8-bit channel value."""
    q = (images * 255).round().clamp(0, 255).to(torch.int64)
    shift = (8 - bits.to(device=images.device, dtype=torch.int64)).clamp(0, 8).view(-1, 1, 1, 1)
    mask = (255 >> shift) << shift
    return (q & mask).to(images.dtype) / 255


def solarize(images: Tensor, threshold: Tensor) -> Tensor:
    """Invert every value at or above the image's threshold (in [0, 1])."""
    t = _per_image(threshold, images)
    return torch.where(images >= t, 1 - images, images)


def autocontrast(images: Tensor) -> Tensor:
    """Stretch each channel of each image to span [0, 1]; flat channels are left unchanged."""
    lo = images.amin(dim=(-2, -1), keepdim=True)
    hi = images.amax(dim=(-2, -1), keepdim=True)
    span = hi - lo
    flat = span <= 0
    scaled = (images - lo) / torch.where(flat, torch.ones_like(span), span)
    return torch.where(flat, images, scaled).clamp(0, 1)


def equalize(images: Tensor) -> Tensor:
    """Equalize the 256-bin histogram of each channel of each image (PIL's algorithm), batched."""
    n, c, h, w = images.shape
    q = (images * 255).round().clamp(0, 255).to(torch.int64).reshape(n * c, h * w)
    hist = torch.zeros(n * c, 256, dtype=torch.int64, device=images.device)
    hist.scatter_add_(1, q, torch.ones_like(q))
    # The count of the last occupied bin is left out of the step, as PIL does.
    last = 255 - (hist > 0).flip(1).to(torch.int8).argmax(1)
    step = (hist.sum(1) - hist.gather(1, last[:, None])[:, 0]) // 255
    safe_step = torch.where(step == 0, torch.ones_like(step), step)
    lut = (torch.cumsum(hist, 1) + (safe_step // 2)[:, None]) // safe_step[:, None]
    lut = torch.cat([torch.zeros_like(lut[:, :1]), lut[:, :-1]], 1).clamp(0, 255)
    out = lut.gather(1, q)
    out = torch.where((step == 0)[:, None], q, out)
    return (out.to(images.dtype) / 255).reshape(n, c, h, w)


class Normalize(Transform[NormalizeConfig]):
    """Subtract ``mean`` and divide by ``std``, per channel.

    Example::

        Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    """

    name = "vision.normalize"
    config_class = NormalizeConfig

    def apply_batch(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        """Normalize the batch.

        Raises:
            DataError: if the number of mean values is neither 1 nor the number of channels.
        """
        mean, std = self.config.mean, self.config.std
        if len(mean) not in (1, images.shape[1]):
            raise DataError(
                f"{self.name}: {len(mean)} mean/std values do not match {images.shape[1]} channels "
                f"(shape {tuple(images.shape)})"
            )
        m = torch.tensor(mean, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
        s = torch.tensor(std, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
        return (images - m) / s


class ColorJitter(Transform[ColorJitterConfig]):
    """Randomly change brightness, contrast, saturation and hue of every image.

    Each image draws its own factors; the order of the four adjustments is drawn once per call.
    """

    name = "vision.color_jitter"
    config_class = ColorJitterConfig

    def apply_batch(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        """Jitter the batch."""
        cfg = self.config
        n, device = images.shape[0], images.device
        order = torch.randperm(4, generator=generator).tolist()
        for op in order:
            if op == 0 and cfg.brightness > 0:
                f = sample_uniform(n, max(0.0, 1 - cfg.brightness), 1 + cfg.brightness, generator, device)
                images = adjust_brightness(images, f)
            elif op == 1 and cfg.contrast > 0:
                f = sample_uniform(n, max(0.0, 1 - cfg.contrast), 1 + cfg.contrast, generator, device)
                images = adjust_contrast(images, f)
            elif op == 2 and cfg.saturation > 0:
                f = sample_uniform(n, max(0.0, 1 - cfg.saturation), 1 + cfg.saturation, generator, device)
                images = adjust_saturation(images, f)
            elif op == 3 and cfg.hue > 0:
                f = sample_uniform(n, -cfg.hue, cfg.hue, generator, device)
                images = adjust_hue(images, f)
        return images
