"""Cross-entropy against soft (probability) targets, the loss mixup and cutmix train with."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from forge.core.errors import ConfigError, DataError
from forge.vision.augment.configs import REDUCTIONS, SoftTargetCrossEntropyConfig
from forge.vision.augment.mixing import smooth_labels

__all__ = ["SoftTargetCrossEntropy", "build_soft_target_cross_entropy", "soft_target_cross_entropy"]


def soft_target_cross_entropy(
    logits: Tensor, targets: Tensor, *, reduction: str = "mean", label_smoothing: float = 0.0
) -> Tensor:
    """``-sum(targets * log_softmax(logits))`` per sample, then reduced.

    Args:
        logits: ``(N, K)`` unnormalized scores.
        targets: ``(N, K)`` probabilities, or ``(N,)`` class indices (smoothed by ``label_smoothing``).
        reduction: mean, sum or none.
        label_smoothing: Smoothing for class-index targets, in [0, 1).

    Returns:
        A scalar (mean, sum) or ``(N,)`` losses (none).

    Raises:
        ConfigError: if ``reduction`` is unknown.
        DataError: if logits are not ``(N, K)`` or targets do not match them.
    """
    if reduction not in REDUCTIONS:
        raise ConfigError(f"reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}")
    if logits.dim() != 2:
        raise DataError(f"soft_target_cross_entropy: expected logits (N, K), got shape {tuple(logits.shape)}")
    if targets.shape[0] != logits.shape[0]:
        raise DataError(f"soft_target_cross_entropy: {targets.shape[0]} targets for {logits.shape[0]} rows of logits")
    probs = smooth_labels(targets, logits.shape[1], label_smoothing).to(logits.dtype)
    losses = -(probs * torch.log_softmax(logits, dim=-1)).sum(dim=-1)
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


class SoftTargetCrossEntropy(nn.Module):
    """Module form of :func:`soft_target_cross_entropy`.

    Args:
        config: The loss config; leave it out to use ``reduction`` and ``label_smoothing``.
        reduction: mean, sum or none.
        label_smoothing: Smoothing for class-index targets.

    Example::

        loss = SoftTargetCrossEntropy()(logits, soft_targets)
    """

    def __init__(
        self,
        config: SoftTargetCrossEntropyConfig | None = None,
        *,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__()
        if config is None:
            try:
                config = SoftTargetCrossEntropyConfig(reduction=reduction, label_smoothing=label_smoothing)
            except ValueError as exc:
                raise ConfigError(f"vision.soft_target_cross_entropy: {exc}") from None
        self.config = config

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        """Compute the loss; see :func:`soft_target_cross_entropy`."""
        return soft_target_cross_entropy(
            logits, targets, reduction=self.config.reduction, label_smoothing=self.config.label_smoothing
        )

    def extra_repr(self) -> str:
        return f"reduction={self.config.reduction!r}, label_smoothing={self.config.label_smoothing}"


def build_soft_target_cross_entropy(config: SoftTargetCrossEntropyConfig) -> SoftTargetCrossEntropy:
    """Registry builder of ``vision.soft_target_cross_entropy``."""
    return SoftTargetCrossEntropy(config)
