"""Config classes of batch-level augmentation and the soft-target loss (no torch import)."""

from __future__ import annotations

from typing import Any

import attrs

from forge.core.config import field

__all__ = ["CutMixConfig", "MixUpConfig", "SoftTargetCrossEntropyConfig"]

REDUCTIONS = ("mean", "sum", "none")


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def _probability(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must lie in [0, 1], got {value!r}")


def _smoothing(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{attribute.name} must lie in [0, 1), got {value!r}")


def _classes(instance: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if value < 2:
        raise ValueError(f"{attribute.name} must be >= 2, got {value!r}")


def _reduction(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in REDUCTIONS:
        raise ValueError(f"{attribute.name} must be one of {', '.join(REDUCTIONS)}, got {value!r}")


@attrs.frozen
class MixUpConfig:
    """MixUp: blend each image and its target with another image of the batch."""

    num_classes: int = field(help="Number of classes, the width of the soft targets.", validator=_classes)
    alpha: float = field(0.2, help="Mixing weights are drawn from Beta(alpha, alpha).", validator=_positive)
    p: float = field(1.0, help="Probability of mixing a given batch.", validator=_probability)
    label_smoothing: float = field(
        0.0, help="Label smoothing applied to the targets before mixing.", validator=_smoothing
    )


@attrs.frozen
class CutMixConfig:
    """CutMix: paste a random box of another image of the batch; targets mix by the box's area."""

    num_classes: int = field(help="Number of classes, the width of the soft targets.", validator=_classes)
    alpha: float = field(0.2, help="The pasted area fraction is drawn from Beta(alpha, alpha).", validator=_positive)
    p: float = field(1.0, help="Probability of mixing a given batch.", validator=_probability)
    label_smoothing: float = field(
        0.0, help="Label smoothing applied to the targets before mixing.", validator=_smoothing
    )


@attrs.frozen
class SoftTargetCrossEntropyConfig:
    """Cross-entropy against probability targets (from mixup, cutmix or label smoothing)."""

    reduction: str = field("mean", help="How per-sample losses combine: mean, sum or none.", validator=_reduction)
    label_smoothing: float = field(0.0, help="Smoothing applied when targets are class indices.", validator=_smoothing)
