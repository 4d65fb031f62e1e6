"""Geometric transforms: resize, crops, flips, and the batched affine warp they share."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from forge.core.errors import DataError
from forge.vision.transforms.base import Transform, sample_bernoulli
from forge.vision.transforms.configs import (
    CenterCropConfig,
    RandomHorizontalFlipConfig,
    RandomResizedCropConfig,
    RandomVerticalFlipConfig,
    ResizeConfig,
)

__all__ = [
    "CenterCrop",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "RandomVerticalFlip",
    "Resize",
    "affine_warp",
    "resize_images",
]


def resize_images(images: Tensor, size: tuple[int, int], interpolation: str, antialias: bool) -> Tensor:
    """Resize a batch ``(N, C, H, W)`` to ``size`` = (height, width).

    Args:
        images: The batch.
        size: Output (height, width).
        interpolation: nearest, bilinear or bicubic.
        antialias: Low-pass filter when shrinking (ignored for nearest).

    Returns:
        The resized batch; bicubic overshoot is clamped back to the input's range.
    """
    if tuple(images.shape[-2:]) == size:
        return images
    if interpolation == "nearest":
        return F.interpolate(images, size=size, mode="nearest-exact")
    out = F.interpolate(images, size=size, mode=interpolation, align_corners=False, antialias=antialias)
    if interpolation == "bicubic":
        out = out.clamp(images.amin(), images.amax())
    return out


class Resize(Transform[ResizeConfig]):
    """Resize images: ``size=[s]`` scales the shorter side to ``s``, ``size=[h, w]`` resizes exactly.

    Example::

        Resize(size=[32, 32])(torch.rand(3, 64, 48)).shape  # (3, 32, 32)
    """

    name = "vision.resize"
    config_class = ResizeConfig

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """The (height, width) an image of the given size is resized to."""
        size = self.config.size
        if len(size) == 2:
            return size[0], size[1]
        short = size[0]
        if height <= width:
            return short, max(1, int(short * width / height))
        return max(1, int(short * height / width)), short

    def apply_batch(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        """Resize the batch (no randomness)."""
        size = self.output_size(images.shape[-2], images.shape[-1])
        return resize_images(images, size, self.config.interpolation, self.config.antialias)


class CenterCrop(Transform[CenterCropConfig]):
    """Crop the centre ``size`` = [height, width], padding with ``fill`` where the image is smaller."""

    name = "vision.center_crop"
    config_class = CenterCropConfig

    def apply_batch(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        """Crop the batch (no randomness)."""
        th, tw = self.config.size
        h, w = images.shape[-2:]
        if th > h or tw > w:
            pad_h, pad_w = max(th - h, 0), max(tw - w, 0)
            images = F.pad(
                images, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2), value=self.config.fill
            )
            h, w = images.shape[-2:]
        top = int(round((h - th) / 2.0))
        left = int(round((w - tw) / 2.0))
        return images[..., top : top + th, left : left + tw]


class RandomHorizontalFlip(Transform[RandomHorizontalFlipConfig]):
    """Flip each image left-right with probability ``p`` (drawn per image)."""

    name = "vision.random_horizontal_flip"
    config_class = RandomHorizontalFlipConfig

    def apply_batch(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        """Flip a random subset of the batch."""
        flip = sample_bernoulli(images.shape[0], self.config.p, generator, images.device)
        return torch.where(flip[:, None, None, None], images.flip(-1), images)


class RandomVerticalFlip(Transform[RandomVerticalFlipConfig]):
    """Flip each image upside down with probability ``p`` (drawn per image)."""

    name = "vision.random_vertical_flip"
    config_class = RandomVerticalFlipConfig

    def apply_batch(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        """Flip a random subset of the batch."""
        flip = sample_bernoulli(images.shape[0], self.config.p, generator, images.device)
        return torch.where(flip[:, None, None, None], images.flip(-2), images)


def _crop_boxes(
    n: int, height: int, width: int, config: RandomResizedCropConfig, generator: torch.Generator | None
) -> Tensor:
    """Sample ``n`` crop boxes ``(top, left, h, w)`` as torchvision's RandomResizedCrop does.

    Ten candidates per image are drawn at once; the first that fits wins, and an image with none
    falls back to the largest centred crop whose ratio lies within the allowed range.
    """
    tries = 10
    area = float(height * width)
    log_lo, log_hi = math.log(config.ratio[0]), math.log(config.ratio[1])
    u = torch.rand(n, tries, 4, generator=generator, dtype=torch.float64)
    target_area = area * (config.scale[0] + (config.scale[1] - config.scale[0]) * u[..., 0])
    aspect = torch.exp(log_lo + (log_hi - log_lo) * u[..., 1])
    w = torch.round(torch.sqrt(target_area * aspect))
    h = torch.round(torch.sqrt(target_area / aspect))
    ok = (w > 0) & (h > 0) & (w <= width) & (h <= height)
    first = torch.where(ok.any(1), ok.to(torch.int8).argmax(1), torch.full((n,), -1))
    boxes = torch.empty(n, 4, dtype=torch.long)
    # Fallback: centre crop clipped to the ratio range.
    in_ratio = width / height
    if in_ratio < config.ratio[0]:
        fw, fh = width, int(round(width / config.ratio[0]))
    elif in_ratio > config.ratio[1]:
        fh, fw = height, int(round(height * config.ratio[1]))
    else:
        fw, fh = width, height
    for i in range(n):
        k = int(first[i])
        if k < 0:
            boxes[i] = torch.tensor([(height - fh) // 2, (width - fw) // 2, fh, fw])
            continue
        bh, bw = int(h[i, k]), int(w[i, k])
        top = int(u[i, k, 2] * (height - bh + 1))
        left = int(u[i, k, 3] * (width - bw + 1))
        boxes[i] = torch.tensor([top, left, bh, bw])
    return boxes


class RandomResizedCrop(Transform[RandomResizedCropConfig]):
    """Crop a random area (``scale``) and aspect ratio (``ratio``) of each image, resized to ``size``.

    With ``antialias=True`` each image is cropped and resized on its own (anti-aliased, like
    torchvision); with ``antialias=False`` the whole batch is resampled in one ``grid_sample`` call.
    """

    name = "vision.random_resized_crop"
    config_class = RandomResizedCropConfig

    def apply_batch(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        """Crop and resize every image of the batch with its own random box."""
        n, _, height, width = images.shape
        boxes = _crop_boxes(n, height, width, self.config, generator)
        size = (self.config.size[0], self.config.size[1])
        if self.config.antialias or self.config.interpolation == "nearest":
            out = [
                resize_images(
                    images[i : i + 1, :, int(t) : int(t + bh), int(lft) : int(lft + bw)],
                    size,
                    self.config.interpolation,
                    self.config.antialias,
                )
                for i, (t, lft, bh, bw) in enumerate(boxes.tolist())
            ]
            return torch.cat(out)
        # Map each output pixel grid onto its box: x_in = cx + sx * x_out in normalized coordinates.
        b = boxes.to(torch.float64)
        sy, sx = b[:, 2] / height, b[:, 3] / width
        cy = (2 * b[:, 0] + b[:, 2]) / height - 1
        cx = (2 * b[:, 1] + b[:, 3]) / width - 1
        theta = torch.zeros(n, 2, 3, dtype=torch.float64)
        theta[:, 0, 0], theta[:, 0, 2] = sx, cx
        theta[:, 1, 1], theta[:, 1, 2] = sy, cy
        theta = theta.to(device=images.device, dtype=images.dtype)
        grid = F.affine_grid(theta, [n, images.shape[1], size[0], size[1]], align_corners=False)
        return F.grid_sample(images, grid, mode=self.config.interpolation, padding_mode="border", align_corners=False)


def affine_warp(images: Tensor, inverse: Tensor, fill: float, mode: str = "nearest") -> Tensor:
    """Warp each image of a batch by its own affine map, in pixel units about the image centre.

    Args:
        images: Batch ``(N, C, H, W)``.
        inverse: ``(N, 2, 3)`` maps from output pixel (x, y) to input pixel (x, y), both measured
            from the image centre, x to the right and y down.
        fill: Value of output pixels that map outside the input.
        mode: ``grid_sample`` interpolation, nearest or bilinear.

    Returns:
        The warped batch.

    Raises:
        DataError: if ``inverse`` does not have shape (N, 2, 3).
    """
    n, c, h, w = images.shape
    if inverse.shape != (n, 2, 3):
        raise DataError(f"affine_warp: expected inverse maps of shape ({n}, 2, 3), got {tuple(inverse.shape)}")
    # Convert the pixel-space map to normalized coordinates: theta = D^-1 M D with D = diag(w/2, h/2).
    scale = torch.tensor([w / 2.0, h / 2.0], dtype=inverse.dtype, device=inverse.device)
    theta = inverse.clone()
    theta[:, :, :2] = inverse[:, :, :2] * scale[None, None, :] / scale[None, :, None]
    theta[:, :, 2] = inverse[:, :, 2] / scale[None, :]
    theta = theta.to(device=images.device, dtype=images.dtype)
    grid = F.affine_grid(theta, [n, c, h, w], align_corners=False)
    if fill == 0.0:
        return F.grid_sample(images, grid, mode=mode, padding_mode="zeros", align_corners=False)
    ones = torch.ones(n, 1, h, w, dtype=images.dtype, device=images.device)
    warped = F.grid_sample(torch.cat([images, ones], 1), grid, mode=mode, padding_mode="zeros", align_corners=False)
    inside = warped[:, -1:]
    return warped[:, :-1] * inside + fill * (1 - inside)
