"""Config classes of batch-level augmentation and the soft-target loss (no torch import)."""

from __future__ import annotations

import attrs

from forge.core.config import field

__all__ = ["CutMixConfig", "MixUpConfig", "SoftTargetCrossEntropyConfig"]

REDUCTIONS = ("mean", "sum", "none")


@attrs.frozen
class MixUpConfig:
    """MixUp: blend each image and its target with another image of the batch."""

    num_classes: int = field(help="Number of classes, the width of the soft targets.", ge=2)
    alpha: float = field(0.2, help="Mixing weights are drawn from Beta(alpha, alpha).", gt=0)
    p: float = field(1.0, help="Probability of mixing a given batch.", ge=0, le=1)
    label_smoothing: float = field(0.0, help="Label smoothing applied to the targets before mixing.", ge=0, lt=1)


@attrs.frozen
class CutMixConfig:
    """CutMix: paste a random box of another image of the batch; targets mix by the box's area."""

    num_classes: int = field(help="Number of classes, the width of the soft targets.", ge=2)
    alpha: float = field(0.2, help="The pasted area fraction is drawn from Beta(alpha, alpha).", gt=0)
    p: float = field(1.0, help="Probability of mixing a given batch.", ge=0, le=1)
    label_smoothing: float = field(0.0, help="Label smoothing applied to the targets before mixing.", ge=0, lt=1)


@attrs.frozen
class SoftTargetCrossEntropyConfig:
    """Cross-entropy against probability targets (from mixup, cutmix or label smoothing)."""

    reduction: str = field("mean", help="How per-sample losses combine: mean, sum or none.", one_of=REDUCTIONS)
    label_smoothing: float = field(0.0, help="Smoothing applied when targets are class indices.", ge=0, lt=1)
