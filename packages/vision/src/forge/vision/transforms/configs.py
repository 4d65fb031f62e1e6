"""Config classes of the vision transforms.

Kept free of torch so that ``forge list transforms`` and ``forge info`` stay fast. Each class is
what a transform serializes to (plus its ``name``): ``Resize(size=32).to_dict()`` is
``{"name": "vision.resize", "size": [32], "interpolation": "bilinear", "antialias": True}``.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from forge.core.config import field

__all__ = [
    "INTERPOLATIONS",
    "CenterCropConfig",
    "ColorJitterConfig",
    "ComposeConfig",
    "NormalizeConfig",
    "RandAugmentConfig",
    "RandomHorizontalFlipConfig",
    "RandomResizedCropConfig",
    "RandomVerticalFlipConfig",
    "ResizeConfig",
    "TrivialAugmentConfig",
]

INTERPOLATIONS = ("nearest", "bilinear", "bicubic")
"""Interpolation modes the resizing transforms accept."""


def _size(value: int | tuple[int, ...] | list[int]) -> tuple[int, ...]:
    # Lets Python callers write size=32; files always hold a list.
    if isinstance(value, int):
        return (value,)
    return tuple(value)


def _pair(value: int | tuple[int, ...] | list[int]) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value, value)
    return tuple(value)


def _check_size(lengths: tuple[int, ...]) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: tuple[int, ...]) -> None:
        if len(value) not in lengths or any(not isinstance(v, int) or v <= 0 for v in value):
            raise ValueError(
                f"{attribute.name} must hold {' or '.join(map(str, lengths))} positive integers, got {value!r}"
            )

    return check


def _check_interpolation(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in INTERPOLATIONS:
        raise ValueError(f"{attribute.name} must be one of {', '.join(INTERPOLATIONS)}, got {value!r}")


def _check_probability(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must lie in [0, 1], got {value!r}")


def _check_non_negative(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not (value >= 0.0 and math.isfinite(value)):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, got {value!r}")


def _check_range(instance: object, attribute: attrs.Attribute[Any], value: tuple[float, ...]) -> None:
    if len(value) != 2 or not 0.0 < value[0] <= value[1]:
        raise ValueError(f"{attribute.name} must be [low, high] with 0 < low <= high, got {value!r}")


@attrs.frozen
class ResizeConfig:
    """Resize images with :func:`torch.nn.functional.interpolate`."""

    size: tuple[int, ...] = field(
        help="[side] resizes the shorter side to `side` keeping the aspect ratio; [height, width] resizes exactly.",
        converter=_size,
        validator=_check_size((1, 2)),
    )
    interpolation: str = field("bilinear", help="One of nearest, bilinear, bicubic.", validator=_check_interpolation)
    antialias: bool = field(True, help="Low-pass filter when downscaling (bilinear and bicubic only).")


@attrs.frozen
class CenterCropConfig:
    """Crop the centre of images, padding with `fill` where the image is smaller than the crop."""

    size: tuple[int, ...] = field(
        help="[height, width] of the crop (an int means a square).", converter=_pair, validator=_check_size((2,))
    )
    fill: float = field(0.0, help="Value of padded pixels when the image is smaller than the crop.")


@attrs.frozen
class RandomResizedCropConfig:
    """Crop a random area and aspect ratio of each image and resize it (Inception-style)."""

    size: tuple[int, ...] = field(
        help="[height, width] of the output (an int means a square).", converter=_pair, validator=_check_size((2,))
    )
    scale: tuple[float, ...] = field(
        (0.08, 1.0), help="[low, high] fraction of the image area the crop covers.", validator=_check_range
    )
    ratio: tuple[float, ...] = field(
        (3.0 / 4.0, 4.0 / 3.0), help="[low, high] aspect ratio (width / height) of the crop.", validator=_check_range
    )
    interpolation: str = field("bilinear", help="One of nearest, bilinear, bicubic.", validator=_check_interpolation)
    antialias: bool = field(
        True,
        help="Crop and resize each image with anti-aliasing (a loop over the batch); false resamples "
        "the whole batch in one grid_sample call, faster on GPUs but aliased when shrinking.",
    )


@attrs.frozen
class RandomHorizontalFlipConfig:
    """Flip each image left-right with probability `p`."""

    p: float = field(0.5, help="Probability of flipping each image.", validator=_check_probability)


@attrs.frozen
class RandomVerticalFlipConfig:
    """Flip each image upside down with probability `p`."""

    p: float = field(0.5, help="Probability of flipping each image.", validator=_check_probability)


def _check_std(instance: NormalizeConfig, attribute: attrs.Attribute[Any], value: tuple[float, ...]) -> None:
    if not value or any(v <= 0 for v in value):
        raise ValueError(f"std must hold positive numbers, got {value!r}")
    if len(value) != len(instance.mean):
        raise ValueError(f"mean and std must have the same length, got {len(instance.mean)} and {len(value)}")


@attrs.frozen
class NormalizeConfig:
    """Subtract a per-channel mean and divide by a per-channel standard deviation."""

    mean: tuple[float, ...] = field(help="Per-channel mean (one value applies to every channel).")
    std: tuple[float, ...] = field(help="Per-channel standard deviation, > 0.", validator=_check_std)


def _check_hue(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value <= 0.5:
        raise ValueError(f"hue must lie in [0, 0.5], got {value!r}")


@attrs.frozen
class ColorJitterConfig:
    """Randomly change brightness, contrast, saturation and hue of each image (in random order)."""

    brightness: float = field(
        0.0, help="Brightness factor drawn from [max(0, 1 - b), 1 + b].", validator=_check_non_negative
    )
    contrast: float = field(
        0.0, help="Contrast factor drawn from [max(0, 1 - c), 1 + c].", validator=_check_non_negative
    )
    saturation: float = field(
        0.0, help="Saturation factor drawn from [max(0, 1 - s), 1 + s].", validator=_check_non_negative
    )
    hue: float = field(0.0, help="Hue shift drawn from [-h, h], in turns (h <= 0.5).", validator=_check_hue)


def _check_bins(instance: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if value < 2:
        raise ValueError(f"{attribute.name} must be >= 2, got {value!r}")


@attrs.frozen
class TrivialAugmentConfig:
    """TrivialAugment (wide): one random operation at a random magnitude per image."""

    num_magnitude_bins: int = field(
        31, help="Number of discrete magnitudes an operation can take.", validator=_check_bins
    )
    fill: float = field(0.0, help="Value of pixels uncovered by geometric operations.")


@attrs.frozen
class RandAugmentConfig:
    """RandAugment: `num_ops` random operations at a fixed magnitude per image."""

    num_ops: int = field(2, help="Operations applied to each image, one after another.")
    magnitude: int = field(9, help="Magnitude bin of every operation, in [0, num_magnitude_bins).")
    num_magnitude_bins: int = field(31, help="Number of discrete magnitudes.", validator=_check_bins)
    fill: float = field(0.0, help="Value of pixels uncovered by geometric operations.")

    def __attrs_post_init__(self) -> None:
        if self.num_ops < 0:
            raise ValueError(f"num_ops must be >= 0, got {self.num_ops}")
        if not 0 <= self.magnitude < self.num_magnitude_bins:
            raise ValueError(f"magnitude must lie in [0, {self.num_magnitude_bins}), got {self.magnitude}")


@attrs.frozen
class ComposeConfig:
    """A sequence of transforms applied in order, each given as its serialized dict."""

    transforms: tuple[dict[str, Any], ...] = field(
        (), help='Transforms as dicts, e.g. [{name = "vision.resize", size = [32]}].'
    )
    seed: int | None = field(
        None, help="Seed of the Compose's own torch.Generator, making its random draws reproducible."
    )
