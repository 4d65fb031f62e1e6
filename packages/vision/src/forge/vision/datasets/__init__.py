"""Image datasets: scikit-learn's digits, procedural shapes, and image folders read with Pillow.

Each builder returns :class:`forge.core.data._types.DatasetSplits` with a :class:`DatasetInfo`
(source, licence, content fingerprint, class count, schema)::

    from forge.vision.datasets import DigitsConfig, build_digits
    splits = build_digits(DigitsConfig(seed=0))
    image, label = splits.train[0]          # (1, 8, 8) float in [0, 1], int

Importing this package is light: each name loads on first access (config classes without torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core import lazy_exports

if TYPE_CHECKING:
    from forge.vision.datasets.configs import SHAPE_CLASSES as SHAPE_CLASSES
    from forge.vision.datasets.configs import DigitsConfig as DigitsConfig
    from forge.vision.datasets.configs import ImageFolderConfig as ImageFolderConfig
    from forge.vision.datasets.configs import ShapesConfig as ShapesConfig
    from forge.vision.datasets.digits import build_digits as build_digits
    from forge.vision.datasets.image_folder import ImageFolder as ImageFolder
    from forge.vision.datasets.image_folder import build_image_folder as build_image_folder
    from forge.vision.datasets.image_folder import load_image as load_image
    from forge.vision.datasets.in_memory import ImageTensorDataset as ImageTensorDataset
    from forge.vision.datasets.shapes import build_shapes as build_shapes
    from forge.vision.datasets.shapes import draw_shapes as draw_shapes

__getattr__, __dir__ = lazy_exports(__name__, __file__)
