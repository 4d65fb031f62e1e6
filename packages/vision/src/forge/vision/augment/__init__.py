"""Batch-level augmentation that mixes samples, and the loss that trains on the resulting soft targets.

:class:`MixUp` and :class:`CutMix` take a batch ``(images, targets)`` and return mixed images with
probability targets ``(N, num_classes)``; :class:`SoftTargetCrossEntropy` trains on them::

    mix = MixUp(num_classes=10)             # alpha = 0.2
    images, soft = mix(images, labels, generator=g)
    loss = SoftTargetCrossEntropy()(model(images), soft)

For spatial dropout use :class:`torch.nn.Dropout2d` (the vision models expose it through their
configs where it applies). Config classes live in :mod:`forge.vision.augment.configs` (no torch);
everything else is imported on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forge.vision.augment.losses import SoftTargetCrossEntropy, soft_target_cross_entropy
    from forge.vision.augment.mixing import CutMix, MixUp, smooth_labels, to_soft_targets

__all__ = [
    "CutMix",
    "MixUp",
    "SoftTargetCrossEntropy",
    "smooth_labels",
    "soft_target_cross_entropy",
    "to_soft_targets",
]

_WHERE = {
    "CutMix": "mixing",
    "MixUp": "mixing",
    "smooth_labels": "mixing",
    "to_soft_targets": "mixing",
    "SoftTargetCrossEntropy": "losses",
    "soft_target_cross_entropy": "losses",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
