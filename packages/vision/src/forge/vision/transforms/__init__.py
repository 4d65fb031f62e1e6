"""Tensor image transforms that compose, serialize and run on batches on any device.

Every transform takes a float image ``(C, H, W)`` or batch ``(N, C, H, W)`` with values in [0, 1]
and serializes to a plain dict that builds it back::

    from forge.vision.transforms import Compose, RandomResizedCrop, RandomHorizontalFlip, transform_from_dict

    aug = Compose([RandomResizedCrop(size=32), RandomHorizontalFlip(p=0.5)], seed=0)
    same = transform_from_dict(aug.to_dict())

Config classes live in :mod:`forge.vision.transforms.configs` (no torch); the transform classes
are imported from their modules on first access, so importing this package stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forge.vision.transforms.autoaugment import RandAugment, TrivialAugment
    from forge.vision.transforms.base import Compose, Transform, transform_from_dict
    from forge.vision.transforms.color import ColorJitter, Normalize
    from forge.vision.transforms.geometric import (
        CenterCrop,
        RandomHorizontalFlip,
        RandomResizedCrop,
        RandomVerticalFlip,
        Resize,
    )

__all__ = [
    "CenterCrop",
    "ColorJitter",
    "Compose",
    "Normalize",
    "RandAugment",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "RandomVerticalFlip",
    "Resize",
    "Transform",
    "TrivialAugment",
    "transform_from_dict",
]

_WHERE = {
    "Compose": "base",
    "Transform": "base",
    "transform_from_dict": "base",
    "ColorJitter": "color",
    "Normalize": "color",
    "RandAugment": "autoaugment",
    "TrivialAugment": "autoaugment",
    "CenterCrop": "geometric",
    "RandomHorizontalFlip": "geometric",
    "RandomResizedCrop": "geometric",
    "RandomVerticalFlip": "geometric",
    "Resize": "geometric",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
