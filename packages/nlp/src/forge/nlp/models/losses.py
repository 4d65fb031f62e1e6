"""Token-level cross-entropy for language models (registered as ``nlp.lm_cross_entropy``)."""

from __future__ import annotations

from torch import Tensor, nn

from forge.core.errors import ConfigError
from forge.core.losses import CrossEntropyLoss
from forge.nlp.models.configs import LMCrossEntropyConfig

__all__ = ["LMCrossEntropy", "build_lm_cross_entropy"]


class LMCrossEntropy(nn.Module):
    """Mean cross-entropy over every target token: logits ``(B, T, V)`` against ids ``(B, T)``.

    Targets equal to ``ignore_index`` contribute nothing (the mean is over the others). The loss is
    computed in float32 for half-precision logits. ``exp`` of it is the perplexity.

    Args:
        ignore_index: Target id to skip.
        label_smoothing: Mass spread uniformly over the vocabulary.
    """

    def __init__(self, *, ignore_index: int = -100, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.ce = CrossEntropyLoss(ignore_index=ignore_index, label_smoothing=label_smoothing)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """The mean token loss.

        Raises:
            ConfigError: ``logits`` is not ``(B, T, V)`` or ``target`` not ``(B, T)`` of the same B, T.
        """
        if logits.dim() != 3 or target.shape != logits.shape[:2]:
            raise ConfigError(
                f"nlp.lm_cross_entropy: expected logits (B, T, V) and targets (B, T), got "
                f"{tuple(logits.shape)} and {tuple(target.shape)}"
            )
        loss: Tensor = self.ce(logits.flatten(0, 1), target.flatten())
        return loss


def build_lm_cross_entropy(config: LMCrossEntropyConfig) -> LMCrossEntropy:
    """Build an :class:`LMCrossEntropy`."""
    return LMCrossEntropy(ignore_index=config.ignore_index, label_smoothing=config.label_smoothing)
