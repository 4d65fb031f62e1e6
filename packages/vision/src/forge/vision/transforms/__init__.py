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

from typing import TYPE_CHECKING

from forge.core import lazy_exports

if TYPE_CHECKING:
    from forge.vision.transforms.autoaugment import RandAugment as RandAugment
    from forge.vision.transforms.autoaugment import TrivialAugment as TrivialAugment
    from forge.vision.transforms.base import Compose as Compose
    from forge.vision.transforms.base import Transform as Transform
    from forge.vision.transforms.base import transform_from_dict as transform_from_dict
    from forge.vision.transforms.color import ColorJitter as ColorJitter
    from forge.vision.transforms.color import Normalize as Normalize
    from forge.vision.transforms.geometric import CenterCrop as CenterCrop
    from forge.vision.transforms.geometric import RandomHorizontalFlip as RandomHorizontalFlip
    from forge.vision.transforms.geometric import RandomResizedCrop as RandomResizedCrop
    from forge.vision.transforms.geometric import RandomVerticalFlip as RandomVerticalFlip
    from forge.vision.transforms.geometric import Resize as Resize

__getattr__, __dir__ = lazy_exports(__name__, __file__)
