"""forge-vision's CNN families: ResNet (and pre-activation ResNet), EfficientNet-B0..B7, MobileNetV2/V3.

Importing this package stays light (no torch): it exposes the config classes and the catalog.
The models live in :mod:`.resnet`, :mod:`.efficientnet` and :mod:`.mobilenet`, weight interop with
torchvision and timm in :mod:`.interop`; build them by name through the registry::

    from forge.core import registry
    model = registry.build("model", "vision.resnet50", num_classes=10)
"""

from __future__ import annotations

from forge.vision.models.catalog import MODEL_NAMES, register_models
from forge.vision.models.configs import EfficientNetConfig, MobileNetConfig, ResNetConfig

__all__ = ["MODEL_NAMES", "EfficientNetConfig", "MobileNetConfig", "ResNetConfig", "register_models"]
