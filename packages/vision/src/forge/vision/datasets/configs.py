"""Config classes of the vision datasets (no torch import)."""

from __future__ import annotations

from typing import Any

import attrs

from forge.core.config import field

__all__ = ["SHAPE_CLASSES", "DigitsConfig", "ImageFolderConfig", "ShapesConfig"]

SHAPE_CLASSES = ("circle", "square", "triangle", "cross", "ring", "diamond")
"""Every shape the procedural shapes dataset can draw."""

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def _fraction(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{attribute.name} must lie in [0, 1), got {value!r}")


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


def _shape_classes(instance: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    unknown = [c for c in value if c not in SHAPE_CLASSES]
    if unknown:
        raise ValueError(f"unknown shape(s) {unknown}; choose from {', '.join(SHAPE_CLASSES)}")
    if len(value) < 2 or len(set(value)) != len(value):
        raise ValueError(f"classes must name at least two distinct shapes, got {list(value)}")


def _image_size(instance: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if value < 8:
        raise ValueError(f"{attribute.name} must be >= 8 pixels, got {value!r}")


def _channels(instance: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if value not in (1, 3):
        raise ValueError(f"{attribute.name} must be 1 or 3, got {value!r}")


def _mode(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in ("RGB", "L"):
        raise ValueError(f"{attribute.name} must be 'RGB' or 'L', got {value!r}")


@attrs.frozen
class DigitsConfig:
    """scikit-learn's bundled 8x8 hand-written digits (1,797 images, 10 classes; no download)."""

    val_fraction: float = field(0.1, help="Fraction of the images held out for validation.", validator=_fraction)
    test_fraction: float = field(0.2, help="Fraction of the images held out for testing.", validator=_fraction)
    seed: int = field(0, help="Seed of the stratified split.")
    train_transform: dict[str, Any] | None = field(
        None, help="Serialized transform (e.g. a vision.compose) applied to training images."
    )
    eval_transform: dict[str, Any] | None = field(
        None, help="Serialized transform applied to validation and test images."
    )

    def __attrs_post_init__(self) -> None:
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ValueError(
                f"val_fraction + test_fraction must be < 1, got {self.val_fraction} + {self.test_fraction}"
            )


@attrs.frozen
class ShapesConfig:
    """Procedurally drawn shapes on coloured backgrounds with noise; the same seed draws the same images."""

    classes: tuple[str, ...] = field(
        ("circle", "square", "triangle", "cross"),
        help=f"Shapes to draw, one class each; from {', '.join(SHAPE_CLASSES)}.",
        validator=_shape_classes,
    )
    image_size: int = field(32, help="Height and width of the images in pixels.", validator=_image_size)
    channels: int = field(3, help="1 (gray) or 3 (RGB).", validator=_channels)
    num_train: int = field(2000, help="Training images.", validator=_non_negative)
    num_val: int = field(400, help="Validation images.", validator=_non_negative)
    num_test: int = field(400, help="Test images.", validator=_non_negative)
    noise: float = field(0.08, help="Standard deviation of the Gaussian pixel noise.", validator=_non_negative)
    seed: int = field(0, help="Seed of the generator; each split draws from its own stream.")
    train_transform: dict[str, Any] | None = field(None, help="Serialized transform applied to training images.")
    eval_transform: dict[str, Any] | None = field(
        None, help="Serialized transform applied to validation and test images."
    )


@attrs.frozen
class ImageFolderConfig:
    """Images in ``root/<split>/<class>/<file>`` folders, read with Pillow (ImageNet's layout)."""

    root: str = field(help="Directory holding the split folders.")
    train: str | None = field("train", help="Sub-folder of the training split, or none.")
    val: str | None = field("val", help="Sub-folder of the validation split, or none.")
    test: str | None = field(None, help="Sub-folder of the test split, or none.")
    mode: str = field("RGB", help="Pillow mode images are converted to: RGB or L.", validator=_mode)
    extensions: tuple[str, ...] = field(IMAGE_EXTENSIONS, help="File extensions counted as images (lower case).")
    hash_contents: bool = field(
        False, help="Fingerprint file contents (slow on large sets) instead of paths and sizes."
    )
    train_transform: dict[str, Any] | None = field(None, help="Serialized transform applied to training images.")
    eval_transform: dict[str, Any] | None = field(
        None, help="Serialized transform applied to validation and test images."
    )
