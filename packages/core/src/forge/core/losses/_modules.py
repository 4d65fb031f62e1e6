"""Loss modules and their builders (``build_x(config) -> nn.Module``).

Every module is called as ``loss(outputs, target)``. :class:`DistillationLoss` also takes the
teacher's logits, either as a third argument or inside ``outputs`` as a ``(student, teacher)``
pair, so a trainer that only knows ``loss(outputs, target)`` can drive it through a model
wrapper returning both.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from forge.core.errors import ConfigError
from forge.core.losses import _functional as LF
from forge.core.losses._configs import (
    BCEWithLogitsConfig,
    CrossEntropyConfig,
    DistillationConfig,
    FocalLossConfig,
    HuberConfig,
    MSEConfig,
    WeightedCrossEntropyConfig,
)

__all__ = [
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "DistillationLoss",
    "FocalLoss",
    "HuberLoss",
    "MSELoss",
    "build_bce_with_logits",
    "build_cross_entropy",
    "build_distillation",
    "build_focal",
    "build_huber",
    "build_mse",
    "build_weighted_cross_entropy",
]


class CrossEntropyLoss(nn.Module):
    """Softmax cross-entropy (see :func:`forge.core.losses._functional.cross_entropy`).

    Args:
        weight: One weight per class, or ``None``.
        label_smoothing: Smoothing mass (0 disables).
        ignore_index: Target value ignored.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
    """

    weight: Tensor | None

    def __init__(
        self,
        *,
        weight: Tensor | None = None,
        label_smoothing: float = 0.0,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        # A buffer moves with the module (.to(device)) and is saved in its state dict.
        self.register_buffer("weight", weight, persistent=weight is not None)
        self.label_smoothing = label_smoothing
        self.ignore_index = ignore_index
        self.reduction = reduction

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """The loss of ``logits`` ``(N, C, ...)`` against ``target`` (indices or probabilities)."""
        return LF.cross_entropy(
            logits,
            target,
            weight=self.weight,
            label_smoothing=self.label_smoothing,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )


class FocalLoss(nn.Module):
    """Focal loss (see :func:`forge.core.losses._functional.focal_loss`).

    Args:
        gamma: Focusing parameter.
        alpha: Class balance weight(s), or ``None``.
        task: ``"multiclass"`` or ``"binary"``.
        ignore_index: Multiclass target value ignored.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
    """

    def __init__(
        self,
        *,
        gamma: float = 2.0,
        alpha: float | tuple[float, ...] | None = None,
        task: str = "multiclass",
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        self.gamma = gamma
        self.alpha = alpha
        self.task = task
        self.ignore_index = ignore_index
        self.reduction = reduction

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """The focal loss of ``logits`` against ``target``."""
        return LF.focal_loss(
            logits,
            target,
            gamma=self.gamma,
            alpha=self.alpha,
            task=self.task,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )


class BCEWithLogitsLoss(nn.Module):
    """Binary cross-entropy on logits.

    Args:
        pos_weight: Weight of positives, or ``None``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
    """

    pos_weight: Tensor | None

    def __init__(self, *, pos_weight: Tensor | None = None, reduction: str = "mean") -> None:
        super().__init__()
        self.register_buffer("pos_weight", pos_weight, persistent=pos_weight is not None)
        self.reduction = reduction

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """The loss of ``logits`` against probabilities ``target`` of the same shape."""
        return LF.bce_with_logits(logits, target, pos_weight=self.pos_weight, reduction=self.reduction)


class MSELoss(nn.Module):
    """Mean squared error.

    Args:
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
    """

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        """The squared error of ``prediction`` against ``target``."""
        return LF.mse(prediction, target, reduction=self.reduction)


class HuberLoss(nn.Module):
    """Huber loss.

    Args:
        delta: Where the loss turns linear.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
    """

    def __init__(self, *, delta: float = 1.0, reduction: str = "mean") -> None:
        super().__init__()
        self.delta = delta
        self.reduction = reduction

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        """The Huber loss of ``prediction`` against ``target``."""
        return LF.huber(prediction, target, delta=self.delta, reduction=self.reduction)


class DistillationLoss(nn.Module):
    """Knowledge-distillation loss (see :func:`forge.core.losses._functional.distillation_loss`).

    Args:
        temperature: Softmax temperature.
        alpha: Weight of the soft term.
        ignore_index: Hard-label value ignored.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
    """

    def __init__(
        self, *, temperature: float = 4.0, alpha: float = 0.5, ignore_index: int = -100, reduction: str = "mean"
    ) -> None:
        super().__init__()
        self.temperature = temperature
        self.alpha = alpha
        self.ignore_index = ignore_index
        self.reduction = reduction

    def forward(
        self,
        outputs: Tensor | tuple[Tensor, Tensor],
        target: Tensor | None,
        teacher_logits: Tensor | None = None,
    ) -> Tensor:
        """The distillation loss.

        Args:
            outputs: The student's logits, or a ``(student_logits, teacher_logits)`` pair.
            target: Hard labels, or ``None`` for the soft term only.
            teacher_logits: The teacher's logits, when ``outputs`` is not a pair.

        Returns:
            The loss.

        Raises:
            ConfigError: The teacher's logits are given twice or not at all.
        """
        if isinstance(outputs, (tuple, list)):
            if teacher_logits is not None or len(outputs) != 2:
                raise ConfigError("pass the teacher's logits either in an (student, teacher) pair or separately")
            student, teacher = outputs
        else:
            if teacher_logits is None:
                raise ConfigError("DistillationLoss needs the teacher's logits")
            student, teacher = outputs, teacher_logits
        return LF.distillation_loss(
            student,
            teacher,
            target,
            temperature=self.temperature,
            alpha=self.alpha,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )


def build_cross_entropy(config: CrossEntropyConfig) -> CrossEntropyLoss:
    """Build a cross-entropy loss (label smoothing ``smoothing_epsilon`` when enabled, class weights if set)."""
    weights = config.class_weights if isinstance(config, WeightedCrossEntropyConfig) else None
    return CrossEntropyLoss(
        weight=None if weights is None else torch.tensor(weights, dtype=torch.float32),
        label_smoothing=config.smoothing_epsilon if config.label_smoothing else 0.0,
        ignore_index=config.ignore_index,
        reduction=config.reduction,
    )


def build_weighted_cross_entropy(config: WeightedCrossEntropyConfig) -> CrossEntropyLoss:
    """Build a class-weighted cross-entropy loss."""
    return build_cross_entropy(config)


def build_focal(config: FocalLossConfig) -> FocalLoss:
    """Build a focal loss (``class_alpha`` when given, else ``alpha``)."""
    return FocalLoss(
        gamma=config.gamma,
        alpha=config.class_alpha if config.class_alpha is not None else config.alpha,
        task=config.task,
        ignore_index=config.ignore_index,
        reduction=config.reduction,
    )


def build_bce_with_logits(config: BCEWithLogitsConfig) -> BCEWithLogitsLoss:
    """Build a binary cross-entropy-with-logits loss."""
    pos_weight = None if config.pos_weight is None else torch.tensor(config.pos_weight, dtype=torch.float32)
    return BCEWithLogitsLoss(pos_weight=pos_weight, reduction=config.reduction)


def build_mse(config: MSEConfig) -> MSELoss:
    """Build a mean-squared-error loss."""
    return MSELoss(reduction=config.reduction)


def build_huber(config: HuberConfig) -> HuberLoss:
    """Build a Huber loss."""
    return HuberLoss(delta=config.delta, reduction=config.reduction)


def build_distillation(config: DistillationConfig) -> DistillationLoss:
    """Build a knowledge-distillation loss."""
    return DistillationLoss(
        temperature=config.temperature,
        alpha=config.alpha,
        ignore_index=config.ignore_index,
        reduction=config.reduction,
    )
