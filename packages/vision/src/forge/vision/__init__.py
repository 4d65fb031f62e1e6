"""forge-vision: image models, transforms, augmentation, datasets, saliency maps and recipes.

Importing this package is light (no torch); components are reached through forge's registry::

    from forge.core import registry
    model = registry.build("model", "vision.resnet18", num_classes=10, stem="small")
    splits = registry.build("dataset", "vision.digits")

or directly from the submodules (:mod:`forge.vision.transforms`, :mod:`forge.vision.augment`,
:mod:`forge.vision.datasets`, :mod:`forge.vision.explain`), which import torch when used.
"""

from __future__ import annotations

from importlib import metadata

__all__ = ["FORGE_PLUGIN_API", "__version__"]

FORGE_PLUGIN_API = 1
"""The forge plugin API version this package implements (also set in :mod:`forge.vision.plugin`)."""

try:
    __version__: str = metadata.version("forge-vision")
except metadata.PackageNotFoundError:  # running from a source checkout that is not installed
    __version__ = "0.1.0"
