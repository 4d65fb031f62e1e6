"""Config classes of the vision transforms.

Kept free of torch so that ``forge list transforms`` and ``forge info`` stay fast. Each class is
what a transform serializes to (plus its ``name``): ``Resize(size=32).to_dict()`` is
``{"name": "vision.resize", "size": [32], "interpolation": "bilinear", "antialias": True}``.
"""

from __future__ import annotations

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


def _check_length(*lengths: int) -> Any:
    # Declared constraints bound each item; how many items there are is this field's own rule.
    def check(instance: object, attribute: attrs.Attribute[Any], value: tuple[Any, ...]) -> None:
        if len(value) not in lengths:
            raise ValueError(
                f"{attribute.name}: expected {' or '.join(map(str, lengths))} items, got {len(value)}: {list(value)!r}"
            )

    return check


def _check_integers(instance: object, attribute: attrs.Attribute[Any], value: tuple[Any, ...]) -> None:
    # Files are read as int already; this catches Python callers passing size=7.5.
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int):
            raise ValueError(f"{attribute.name}: expected integers, got {item!r} at index {i} of {list(value)!r}")


def _check_range(instance: object, attribute: attrs.Attribute[Any], value: tuple[float, ...]) -> None:
    if len(value) != 2 or not value[0] <= value[1]:
        raise ValueError(f"{attribute.name}: expected [low, high] with low <= high, got {list(value)!r}")


@attrs.frozen
class ResizeConfig:
    """Resize images with :func:`torch.nn.functional.interpolate`."""

    size: tuple[int, ...] = field(
        help="[side] resizes the shorter side to `side` keeping the aspect ratio; [height, width] resizes exactly.",
        converter=_size,
        validator=[_check_length(1, 2), _check_integers],
        gt=0,
    )
    interpolation: str = field("bilinear", help="One of nearest, bilinear, bicubic.", one_of=INTERPOLATIONS)
    antialias: bool = field(True, help="Low-pass filter when downscaling (bilinear and bicubic only).")


@attrs.frozen
class CenterCropConfig:
    """Crop the centre of images, padding with `fill` where the image is smaller than the crop."""

    size: tuple[int, ...] = field(
        help="[height, width] of the crop (an int means a square).",
        converter=_pair,
        validator=[_check_length(2), _check_integers],
        gt=0,
    )
    fill: float = field(0.0, help="Value of padded pixels when the image is smaller than the crop.")


@attrs.frozen
class RandomResizedCropConfig:
    """Crop a random area and aspect ratio of each image and resize it (Inception-style)."""

    size: tuple[int, ...] = field(
        help="[height, width] of the output (an int means a square).",
        converter=_pair,
        validator=[_check_length(2), _check_integers],
        gt=0,
    )
    scale: tuple[float, ...] = field(
        (0.08, 1.0), help="[low, high] fraction of the image area the crop covers.", validator=_check_range, gt=0
    )
    ratio: tuple[float, ...] = field(
        (3.0 / 4.0, 4.0 / 3.0),
        help="[low, high] aspect ratio (width / height) of the crop.",
        validator=_check_range,
        gt=0,
    )
    interpolation: str = field("bilinear", help="One of nearest, bilinear, bicubic.", one_of=INTERPOLATIONS)
    antialias: bool = field(
        True,
        help="Crop and resize each image with anti-aliasing (a loop over the batch); false resamples "
        "the whole batch in one grid_sample call, faster on GPUs but aliased when shrinking.",
    )


@attrs.frozen
class RandomHorizontalFlipConfig:
    """Flip each image left-right with probability `p`."""

    p: float = field(0.5, help="Probability of flipping each image.", ge=0, le=1)


@attrs.frozen
class RandomVerticalFlipConfig:
    """Flip each image upside down with probability `p`."""

    p: float = field(0.5, help="Probability of flipping each image.", ge=0, le=1)


@attrs.frozen
class NormalizeConfig:
    """Subtract a per-channel mean and divide by a per-channel standard deviation."""

    mean: tuple[float, ...] = field(help="Per-channel mean (one value applies to every channel).", non_empty=True)
    std: tuple[float, ...] = field(help="Per-channel standard deviation, > 0.", gt=0, non_empty=True)

    def __attrs_post_init__(self) -> None:
        if len(self.mean) != len(self.std):
            raise ValueError(
                f"mean, std: expected the same number of values, got {len(self.mean)} ({list(self.mean)!r}) "
                f"and {len(self.std)} ({list(self.std)!r})"
            )


@attrs.frozen
class ColorJitterConfig:
    """Randomly change brightness, contrast, saturation and hue of each image (in random order)."""

    brightness: float = field(0.0, help="Brightness factor drawn from [max(0, 1 - b), 1 + b].", ge=0)
    contrast: float = field(0.0, help="Contrast factor drawn from [max(0, 1 - c), 1 + c].", ge=0)
    saturation: float = field(0.0, help="Saturation factor drawn from [max(0, 1 - s), 1 + s].", ge=0)
    hue: float = field(0.0, help="Hue shift drawn from [-h, h], in turns (h <= 0.5).", ge=0, le=0.5)


@attrs.frozen
class TrivialAugmentConfig:
    """TrivialAugment (wide): one random operation at a random magnitude per image."""

    num_magnitude_bins: int = field(31, help="Number of discrete magnitudes an operation can take.", ge=2)
    fill: float = field(0.0, help="Value of pixels uncovered by geometric operations.")


@attrs.frozen
class RandAugmentConfig:
    """RandAugment: `num_ops` random operations at a fixed magnitude per image."""

    num_ops: int = field(2, help="Operations applied to each image, one after another.", ge=0)
    magnitude: int = field(9, help="Magnitude bin of every operation, in [0, num_magnitude_bins).", ge=0)
    num_magnitude_bins: int = field(31, help="Number of discrete magnitudes.", ge=2)
    fill: float = field(0.0, help="Value of pixels uncovered by geometric operations.")

    def __attrs_post_init__(self) -> None:
        if self.magnitude >= self.num_magnitude_bins:
            raise ValueError(
                f"magnitude, num_magnitude_bins: expected magnitude < num_magnitude_bins, got {self.magnitude} "
                f"and {self.num_magnitude_bins}"
            )


@attrs.frozen
class ComposeConfig:
    """A sequence of transforms applied in order, each given as its serialized dict."""

    transforms: tuple[dict[str, Any], ...] = field(
        (), help='Transforms as dicts, e.g. [{name = "vision.resize", size = [32]}].'
    )
    seed: int | None = field(
        None, help="Seed of the Compose's own torch.Generator, making its random draws reproducible.", ge=0
    )
