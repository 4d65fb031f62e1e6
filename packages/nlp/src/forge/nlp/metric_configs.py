"""Config classes of forge-nlp's metrics (no torch import: listing stays light)."""

from __future__ import annotations

import attrs

from forge.core.config import field

__all__ = ["BLEUConfig", "ROUGEConfig", "TokenAccuracyConfig", "TokenPerplexityConfig"]

_SYNC_HELP = "Gather state across processes before compute() (torchmetrics' own sync)."
_ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


@attrs.frozen
class BLEUConfig:
    """Corpus BLEU as sacrebleu computes it by default (13a tokenization, exp smoothing, 4-grams), 0-100."""

    lowercase: bool = field(False, help="Lowercase hypotheses and references before tokenizing.")
    max_ngram_order: int = field(4, help="Longest n-gram counted.", ge=1)
    sync_on_compute: bool = field(True, help=_SYNC_HELP)


@attrs.frozen
class ROUGEConfig:
    """Mean ROUGE F-measure over prediction/reference pairs, as the rouge-score package computes it (0-1)."""

    rouge_type: str = field(
        "rougeL", help="Which score compute() returns: rouge1, rouge2 or rougeL.", one_of=_ROUGE_TYPES
    )
    sync_on_compute: bool = field(True, help=_SYNC_HELP)


@attrs.frozen
class TokenAccuracyConfig:
    """Share of target tokens whose highest-scoring prediction is right, padding left out."""

    ignore_index: int = field(-100, help="Target value left out (padding; -100 is the LM-loss convention).")
    sync_on_compute: bool = field(True, help=_SYNC_HELP)


@attrs.frozen
class TokenPerplexityConfig:
    """exp of the mean token negative log-likelihood, from logits (B, T, V) or (N, V), padding left out."""

    ignore_index: int = field(-100, help="Target value left out (padding; -100 is the LM-loss convention).")
    sync_on_compute: bool = field(True, help=_SYNC_HELP)
