"""Config classes of the vision datasets (no torch import)."""

from __future__ import annotations

from typing import Any

import attrs

from forge.core.config import field

__all__ = ["SHAPE_CLASSES", "DigitsConfig", "ImageFolderConfig", "ShapesConfig"]

SHAPE_CLASSES = ("circle", "square", "triangle", "cross", "ring", "diamond")
"""Every shape the procedural shapes dataset can draw."""

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def _two_distinct(instance: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    # One shape alone is no classification task; a repeated one would be two classes of one shape.
    if len(value) < 2 or len(set(value)) != len(value):
        raise ValueError(f"{attribute.name}: expected at least two distinct shapes, got {list(value)!r}")


@attrs.frozen
class DigitsConfig:
    """scikit-learn's bundled 8x8 hand-written digits (1,797 images, 10 classes; no download)."""

    val_fraction: float = field(0.1, help="Fraction of the images held out for validation.", ge=0, lt=1)
    test_fraction: float = field(0.2, help="Fraction of the images held out for testing.", ge=0, lt=1)
    seed: int = field(0, help="Seed of the stratified split.", ge=0)
    train_transform: dict[str, Any] | None = field(
        None, help="Serialized transform (e.g. a vision.compose) applied to training images."
    )
    eval_transform: dict[str, Any] | None = field(
        None, help="Serialized transform applied to validation and test images."
    )

    def __attrs_post_init__(self) -> None:
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ValueError(
                f"val_fraction, test_fraction: expected a sum < 1 (images left for training), got "
                f"{self.val_fraction} + {self.test_fraction}"
            )


@attrs.frozen
class ShapesConfig:
    """Procedurally drawn shapes on coloured backgrounds with noise; the same seed draws the same images."""

    classes: tuple[str, ...] = field(
        ("circle", "square", "triangle", "cross"),
        help=f"Shapes to draw, one class each; from {', '.join(SHAPE_CLASSES)}.",
        validator=_two_distinct,
        one_of=SHAPE_CLASSES,
    )
    image_size: int = field(32, help="Height and width of the images in pixels.", ge=8)
    channels: int = field(3, help="1 (gray) or 3 (RGB).", one_of=(1, 3))
    num_train: int = field(2000, help="Training images.", ge=0)
    num_val: int = field(400, help="Validation images.", ge=0)
    num_test: int = field(400, help="Test images.", ge=0)
    noise: float = field(0.08, help="Standard deviation of the Gaussian pixel noise.", ge=0)
    seed: int = field(0, help="Seed of the generator; each split draws from its own stream.", ge=0)
    train_transform: dict[str, Any] | None = field(None, help="Serialized transform applied to training images.")
    eval_transform: dict[str, Any] | None = field(
        None, help="Serialized transform applied to validation and test images."
    )


@attrs.frozen
class ImageFolderConfig:
    """Images in ``root/<split>/<class>/<file>`` folders, read with Pillow (ImageNet's layout)."""

    root: str = field(help="Directory holding the split folders.", non_empty=True)
    train: str | None = field("train", help="Sub-folder of the training split, or none.", non_empty=True)
    val: str | None = field("val", help="Sub-folder of the validation split, or none.", non_empty=True)
    test: str | None = field(None, help="Sub-folder of the test split, or none.", non_empty=True)
    mode: str = field("RGB", help="Pillow mode images are converted to: RGB or L.", one_of=("RGB", "L"))
    extensions: tuple[str, ...] = field(
        IMAGE_EXTENSIONS, help="File extensions counted as images (lower case).", non_empty=True
    )
    hash_contents: bool = field(
        False, help="Fingerprint file contents (slow on large sets) instead of paths and sizes."
    )
    train_transform: dict[str, Any] | None = field(None, help="Serialized transform applied to training images.")
    eval_transform: dict[str, Any] | None = field(
        None, help="Serialized transform applied to validation and test images."
    )
