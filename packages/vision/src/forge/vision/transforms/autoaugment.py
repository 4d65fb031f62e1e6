"""Automatic augmentation policies: TrivialAugment (wide) and RandAugment, batched.

Every image of a batch draws its own operation (and, for TrivialAugment, its own magnitude); the
batch is then split by operation so each operation runs once, vectorized, on its images. The
operation set and magnitude ranges follow the papers (and torchvision's implementation), adapted
to float images in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from forge.vision.transforms import color
from forge.vision.transforms.base import Transform
from forge.vision.transforms.configs import RandAugmentConfig, TrivialAugmentConfig
from forge.vision.transforms.geometric import affine_warp

__all__ = ["OPERATIONS", "RandAugment", "TrivialAugment", "apply_operation"]

OPERATIONS = (
    "identity",
    "shear_x",
    "shear_y",
    "translate_x",
    "translate_y",
    "rotate",
    "brightness",
    "color",
    "contrast",
    "sharpness",
    "posterize",
    "solarize",
    "autocontrast",
    "equalize",
)
"""The operations both policies draw from, in a fixed order."""

_SIGNED = frozenset(
    {"shear_x", "shear_y", "translate_x", "translate_y", "rotate", "brightness", "color", "contrast", "sharpness"}
)


def _magnitude_table(wide: bool, bins: int, height: int, width: int) -> dict[str, Tensor]:
    """Magnitude of each operation at each bin (float64, length ``bins``)."""

    def lin(hi: float, lo: float = 0.0) -> Tensor:
        return torch.linspace(lo, hi, bins, dtype=torch.float64)

    steps = torch.arange(bins, dtype=torch.float64)
    if wide:
        return {
            "shear_x": lin(0.99),
            "shear_y": lin(0.99),
            "translate_x": lin(32.0),
            "translate_y": lin(32.0),
            "rotate": lin(135.0),
            "brightness": lin(0.99),
            "color": lin(0.99),
            "contrast": lin(0.99),
            "sharpness": lin(0.99),
            "posterize": 8 - (steps / ((bins - 1) / 6)).round(),
            "solarize": lin(0.0, 1.0),
        }
    return {
        "shear_x": lin(0.3),
        "shear_y": lin(0.3),
        "translate_x": lin(150.0 / 331.0 * width),
        "translate_y": lin(150.0 / 331.0 * height),
        "rotate": lin(30.0),
        "brightness": lin(0.9),
        "color": lin(0.9),
        "contrast": lin(0.9),
        "sharpness": lin(0.9),
        "posterize": 8 - (steps / ((bins - 1) / 4)).round(),
        "solarize": lin(0.0, 1.0),
    }


def _affine(n: int, rows: Callable[[Tensor], tuple[Tensor, ...]], m: Tensor) -> Tensor:
    a = torch.stack(rows(m), 1).view(n, 2, 3)
    return a


def apply_operation(op: str, images: Tensor, magnitude: Tensor, fill: float = 0.0) -> Tensor:
    """Apply one named operation to a batch, each image at its own (signed) magnitude.

    Args:
        op: One of :data:`OPERATIONS`.
        images: Batch ``(N, C, H, W)`` of floats in [0, 1].
        magnitude: ``(N,)`` magnitudes: shear factor, translation in pixels, rotation in degrees,
            enhancement delta (factor = 1 + delta), posterize bits, solarize threshold.
        fill: Value of pixels uncovered by geometric operations.

    Returns:
        The transformed batch.

    Raises:
        ValueError: if ``op`` is not a known operation.
    """
    n = images.shape[0]
    m = magnitude.to(torch.float64).cpu()
    zero, one = torch.zeros_like(m), torch.ones_like(m)
    if op == "identity":
        return images
    if op == "shear_x":
        return affine_warp(images, _affine(n, lambda s: (one, -s, zero, zero, one, zero), m), fill)
    if op == "shear_y":
        return affine_warp(images, _affine(n, lambda s: (one, zero, zero, -s, one, zero), m), fill)
    if op == "translate_x":
        return affine_warp(images, _affine(n, lambda t: (one, zero, -t, zero, one, zero), m), fill)
    if op == "translate_y":
        return affine_warp(images, _affine(n, lambda t: (one, zero, zero, zero, one, -t), m), fill)
    if op == "rotate":
        rad = m * (math.pi / 180.0)
        cos, sin = torch.cos(rad), torch.sin(rad)
        return affine_warp(images, _affine(n, lambda _: (cos, sin, zero, -sin, cos, zero), m), fill)
    factor = (1.0 + m).to(images.device)
    if op == "brightness":
        return color.adjust_brightness(images, factor)
    if op == "color":
        return color.adjust_saturation(images, factor)
    if op == "contrast":
        return color.adjust_contrast(images, factor)
    if op == "sharpness":
        return color.adjust_sharpness(images, factor)
    if op == "posterize":
        return color.posterize(images, m.round().to(torch.int64))
    if op == "solarize":
        return color.solarize(images, m.to(images.device))
    if op == "autocontrast":
        return color.autocontrast(images)
    if op == "equalize":
        return color.equalize(images)
    raise ValueError(f"unknown augmentation operation {op!r}; known: {', '.join(OPERATIONS)}")


def _apply_per_image(images: Tensor, ops: Tensor, magnitudes: Tensor, fill: float) -> Tensor:
    out = images.clone()
    for k, op in enumerate(OPERATIONS):
        idx = (ops == k).nonzero().flatten()
        if idx.numel() == 0 or op == "identity":
            continue
        dev_idx = idx.to(images.device)
        out[dev_idx] = apply_operation(op, images[dev_idx], magnitudes[idx], fill).to(out.dtype)
    return out


def _signed(ops: Tensor, values: Tensor, generator: torch.Generator | None) -> Tensor:
    signed = torch.tensor([op in _SIGNED for op in OPERATIONS])[ops]
    flip = (torch.rand(ops.shape[0], generator=generator) < 0.5) & signed
    return torch.where(flip, -values, values)


def _bin_values(table: dict[str, Tensor], ops: Tensor, bins: Tensor) -> Tensor:
    bins_count = next(iter(table.values())).shape[0]
    matrix = torch.stack([table.get(op, torch.zeros(bins_count, dtype=torch.float64)) for op in OPERATIONS])
    return matrix[ops, bins]


class TrivialAugment(Transform[TrivialAugmentConfig]):
    """TrivialAugment (wide): each image gets one random operation at a random magnitude.

    Müller & Hutter, "TrivialAugment: Tuning-free Yet State-of-the-Art Data Augmentation", 2021.
    """

    name = "vision.trivial_augment"
    config_class = TrivialAugmentConfig

    def apply_batch(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        """Augment the batch."""
        n, _, h, w = images.shape
        bins = self.config.num_magnitude_bins
        table = _magnitude_table(True, bins, h, w)
        ops = torch.randint(len(OPERATIONS), (n,), generator=generator)
        mag_bins = torch.randint(bins, (n,), generator=generator)
        magnitudes = _signed(ops, _bin_values(table, ops, mag_bins), generator)
        return _apply_per_image(images, ops, magnitudes, self.config.fill)


class RandAugment(Transform[RandAugmentConfig]):
    """RandAugment: each image gets ``num_ops`` random operations at the fixed ``magnitude``.

    Cubuk et al., "RandAugment: Practical automated data augmentation with a reduced search space", 2020.
    """

    name = "vision.rand_augment"
    config_class = RandAugmentConfig

    def apply_batch(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        """Augment the batch."""
        n, _, h, w = images.shape
        cfg = self.config
        table = _magnitude_table(False, cfg.num_magnitude_bins, h, w)
        mag_bins = torch.full((n,), cfg.magnitude, dtype=torch.int64)
        for _ in range(cfg.num_ops):
            ops = torch.randint(len(OPERATIONS), (n,), generator=generator)
            magnitudes = _signed(ops, _bin_values(table, ops, mag_bins), generator)
            images = _apply_per_image(images, ops, magnitudes, cfg.fill)
        return images
