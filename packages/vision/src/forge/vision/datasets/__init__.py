"""Image datasets: scikit-learn's digits, procedural shapes, and image folders read with Pillow.

Each builder returns :class:`forge.core.data.types.DatasetSplits` with a :class:`DatasetInfo`
(source, licence, content fingerprint, class count, schema)::

    from forge.vision.datasets import DigitsConfig, build_digits
    splits = build_digits(DigitsConfig(seed=0))
    image, label = splits.train[0]          # (1, 8, 8) float in [0, 1], int

Config classes are importable without torch; builders are loaded on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from forge.vision.datasets.configs import SHAPE_CLASSES, DigitsConfig, ImageFolderConfig, ShapesConfig

if TYPE_CHECKING:
    from forge.vision.datasets.digits import build_digits
    from forge.vision.datasets.image_folder import ImageFolder, build_image_folder, load_image
    from forge.vision.datasets.in_memory import ImageTensorDataset
    from forge.vision.datasets.shapes import build_shapes, draw_shapes

__all__ = [
    "SHAPE_CLASSES",
    "DigitsConfig",
    "ImageFolder",
    "ImageFolderConfig",
    "ImageTensorDataset",
    "ShapesConfig",
    "build_digits",
    "build_image_folder",
    "build_shapes",
    "draw_shapes",
    "load_image",
]

_WHERE = {
    "build_digits": "digits",
    "ImageFolder": "image_folder",
    "build_image_folder": "image_folder",
    "load_image": "image_folder",
    "ImageTensorDataset": "in_memory",
    "build_shapes": "shapes",
    "draw_shapes": "shapes",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
