"""Config classes of forge-core's losses (no torch import: listing stays light).

Every loss has ``reduction``: ``"mean"`` (the default), ``"sum"`` or ``"none"`` (one value per
sample, or per element for element-wise losses).
"""

from __future__ import annotations

from typing import Literal

import attrs

from forge.core.config import field

__all__ = [
    "BCEWithLogitsConfig",
    "CrossEntropyConfig",
    "DistillationConfig",
    "FocalLossConfig",
    "HuberConfig",
    "MSEConfig",
    "Reduction",
    "WeightedCrossEntropyConfig",
]

Reduction = Literal["mean", "sum", "none"]
_REDUCTIONS = ("mean", "sum", "none")
_reduction_help = "How per-sample losses combine: 'mean', 'sum' or 'none'."


@attrs.frozen
class CrossEntropyConfig:
    """Softmax cross-entropy on logits, optionally with label smoothing."""

    reduction: Reduction = field("mean", help=_reduction_help, one_of=_REDUCTIONS)
    label_smoothing: bool = field(False, help="Smooth the targets towards uniform.")
    smoothing_epsilon: float = field(
        0.1,
        help="Probability mass spread over all classes when label_smoothing is on.",
        ge=0,
        le=1,
    )
    ignore_index: int = field(-100, help="Target value that contributes nothing (e.g. padding).")


@attrs.frozen(kw_only=True)
class WeightedCrossEntropyConfig(CrossEntropyConfig):
    """Cross-entropy with a weight per class (for imbalanced data); 'mean' is the weighted mean."""

    class_weights: tuple[float, ...] = field(help="One non-negative weight per class.", non_empty=True, ge=0)


@attrs.frozen
class FocalLossConfig:
    """Focal loss (Lin et al., 2017): cross-entropy down-weighting easy examples by (1 - p_t)^gamma."""

    gamma: float = field(2.0, help="Focusing parameter; 0 gives (alpha-weighted) cross-entropy.", ge=0)
    alpha: float | None = field(
        None,
        help="Class balance: binary, the weight of positives (negatives get 1 - alpha); multiclass, "
        "one weight for every class; None for no weighting.",
        ge=0,
        le=1,
    )
    class_alpha: tuple[float, ...] | None = field(
        None,
        help="Multiclass only: one alpha per class (instead of alpha).",
        non_empty=True,
        ge=0,
    )
    task: Literal["multiclass", "binary"] = field(
        "multiclass",
        help="'multiclass' (softmax over classes) or 'binary' (sigmoid per logit).",
        one_of=("multiclass", "binary"),
    )
    reduction: Reduction = field("mean", help=_reduction_help, one_of=_REDUCTIONS)
    ignore_index: int = field(-100, help="Multiclass target value that contributes nothing.")

    def __attrs_post_init__(self) -> None:
        if self.class_alpha is not None and (self.alpha is not None or self.task == "binary"):
            raise ValueError("class_alpha is for the multiclass task, instead of alpha; set only one")


@attrs.frozen
class BCEWithLogitsConfig:
    """Binary cross-entropy on logits (sigmoid folded in, stable for any logit)."""

    reduction: Reduction = field("mean", help=_reduction_help, one_of=_REDUCTIONS)
    pos_weight: tuple[float, ...] | None = field(
        None, help="Weight of positive examples, one per label (or one for all); None for 1.", non_empty=True, ge=0
    )


@attrs.frozen
class MSEConfig:
    """Mean squared error."""

    reduction: Reduction = field("mean", help=_reduction_help, one_of=_REDUCTIONS)


@attrs.frozen
class HuberConfig:
    """Huber loss: quadratic within delta of the target, linear beyond."""

    delta: float = field(1.0, help="Where the loss turns from quadratic to linear.", gt=0)
    reduction: Reduction = field("mean", help=_reduction_help, one_of=_REDUCTIONS)


@attrs.frozen
class DistillationConfig:
    """Knowledge distillation (Hinton et al., 2015): soft teacher targets plus hard labels."""

    temperature: float = field(4.0, help="Softmax temperature of both teacher and student.", gt=0)
    alpha: float = field(
        0.5,
        help="Weight of the soft (teacher) term; 1 - alpha weights the hard labels.",
        ge=0,
        le=1,
    )
    reduction: Reduction = field("mean", help=_reduction_help, one_of=_REDUCTIONS)
    ignore_index: int = field(-100, help="Hard-label value that contributes nothing to the hard term.")
