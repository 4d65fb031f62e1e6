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

from typing import TYPE_CHECKING

from forge.core import lazy_exports

if TYPE_CHECKING:
    from forge.vision.augment.losses import SoftTargetCrossEntropy as SoftTargetCrossEntropy
    from forge.vision.augment.losses import soft_target_cross_entropy as soft_target_cross_entropy
    from forge.vision.augment.mixing import CutMix as CutMix
    from forge.vision.augment.mixing import MixUp as MixUp
    from forge.vision.augment.mixing import smooth_labels as smooth_labels
    from forge.vision.augment.mixing import to_soft_targets as to_soft_targets

__getattr__, __dir__ = lazy_exports(__name__, __file__)
