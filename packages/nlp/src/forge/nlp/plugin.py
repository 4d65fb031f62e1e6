"""forge-nlp's entry-point module (``forge.plugins``: ``nlp = "forge.nlp.plugin"``).

Light on purpose: it imports only core's registration API and names builders and config classes
as ``"module:attr"`` strings, so ``forge plugins`` and ``forge list`` never import torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from forge.core.hookspecs import Register, hookimpl

__all__ = [
    "FORGE_PLUGIN_API",
    "forge_register_datasets",
    "forge_register_losses",
    "forge_register_metrics",
    "forge_register_models",
    "forge_register_recipes",
    "forge_register_transforms",
]

FORGE_PLUGIN_API = 1


class _Row(NamedTuple):
    """One component of a registration table: the arguments of :class:`forge.core.hookspecs.Register`."""

    name: str
    builder: str
    config: str | None
    summary: str
    tags: tuple[str, ...]
    defaults: Mapping[str, Any] | None = None
    example: str | None = None


def _register_rows(register: Register, rows: tuple[_Row, ...]) -> None:
    for row in rows:
        fields = row._asdict()
        # a registration error points at this line and names the component; its row is in a table below
        register(fields.pop("name"), **fields)


_TOK = "forge.nlp.tokenizers"
_DS = "forge.nlp.datasets"
_TRANSFORMS = (
    _Row(
        "byte_tokenizer",
        f"{_TOK}.byte:ByteTokenizer",
        f"{_TOK}.configs:ByteTokenizerConfig",
        "Byte-level UTF-8 tokenizer (256 byte ids + special tokens; lossless for any Unicode text)",
        ("text", "tokenizer"),
    ),
    _Row(
        "bpe_tokenizer",
        f"{_TOK}.trained:BPETokenizer",
        f"{_TOK}.configs:BPETokenizerConfig",
        "Byte-level BPE learned from your text files (lossless for any Unicode text)",
        ("text", "tokenizer"),
    ),
    _Row(
        "wordpiece_tokenizer",
        f"{_TOK}.trained:WordPieceTokenizer",
        f"{_TOK}.configs:WordPieceTokenizerConfig",
        "WordPiece (BERT style) learned from your text files (lossy: lowercases, normalizes)",
        ("text", "tokenizer"),
    ),
    _Row(
        "char_tokenizer",
        f"{_TOK}.char:CharTokenizer",
        f"{_TOK}.configs:CharTokenizerConfig",
        "One id per character of an alphabet learned from your text files (lossless over it)",
        ("text", "tokenizer"),
    ),
)
_DATASETS = (
    _Row(
        "stdlib_text",
        f"{_DS}.stdlib_text:build_stdlib_text",
        f"{_DS}.configs:StdlibTextConfig",
        "Byte-level language modelling on Python's own standard-library sources (no download)",
        ("text", "language-modeling"),
    ),
    _Row(
        "text_classification",
        f"{_DS}.classification:build_text_classification",
        f"{_DS}.configs:TextClassificationConfig",
        "Labelled texts from a CSV, JSONL or label<TAB>text file, validated row by row, tokenized",
        ("text", "text-classification"),
    ),
    _Row(
        "text_blocks",
        f"{_DS}.text_blocks:build_text_blocks",
        f"{_DS}.configs:TextBlocksConfig",
        "Your text files tokenized and packed into fixed-length language-modelling blocks",
        ("text", "language-modeling"),
    ),
    _Row(
        "text_stream",
        f"{_DS}.streaming:build_text_stream",
        f"{_DS}.configs:TextStreamConfig",
        "Streamed, sharded corpus of many text files (one document per line), seeded order",
        ("text", "language-modeling", "streaming"),
    ),
)
_METRICS = (
    _Row(
        "bleu",
        "forge.nlp.metrics:build_bleu",
        "forge.nlp.metric_configs:BLEUConfig",
        "Corpus BLEU (0-100) equal to sacrebleu's default (13a tokens, exp smoothing); update(hyps, refs)",
        ("text", "generation", "translation"),
    ),
    _Row(
        "rouge",
        "forge.nlp.metrics:build_rouge",
        "forge.nlp.metric_configs:ROUGEConfig",
        "Mean ROUGE-1/2/L F-measure equal to the rouge-score package's (no stemming); update(preds, refs)",
        ("text", "generation", "summarization"),
    ),
    _Row(
        "token_accuracy",
        "forge.nlp.metrics:build_token_accuracy",
        "forge.nlp.metric_configs:TokenAccuracyConfig",
        "Share of target tokens predicted right (logits (..., V), targets (...)), padding left out",
        ("text", "language-modeling"),
    ),
    _Row(
        "token_perplexity",
        "forge.nlp.metrics:build_token_perplexity",
        "forge.nlp.metric_configs:TokenPerplexityConfig",
        "Perplexity from logits (B, T, V) or (N, V) and targets, padding (-100) left out",
        ("text", "language-modeling"),
    ),
)
# recipes are package resources ("package:file.toml") and have no config class
_RECIPES = (
    _Row(
        "char-lm",
        "forge.nlp.recipes:char-lm.toml",
        None,
        "Small byte-level GPT on Python's standard library: validation perplexity, then sampling",
        ("language-modeling", "generation", "quickstart"),
    ),
    _Row(
        "gpt2-small",
        "forge.nlp.recipes:gpt2-small.toml",
        None,
        "GPT-2 small (124M) on Python's standard library as bytes: multi-GPU DDP/FSDP runs and throughput",
        ("language-modeling", "distributed", "gpu"),
    ),
    _Row(
        "text-classification",
        "forge.nlp.recipes:text-classification.toml",
        None,
        "Small Transformer encoder classifying a shipped CSV of template sentences into 3 topics",
        ("text-classification", "quickstart"),
    ),
)


@hookimpl
def forge_register_transforms(register: Register) -> None:
    """Register the tokenizers (byte, byte-level BPE, WordPiece, char)."""
    _register_rows(register, _TRANSFORMS)


@hookimpl
def forge_register_datasets(register: Register) -> None:
    """Register the text datasets."""
    _register_rows(register, _DATASETS)


@hookimpl
def forge_register_models(register: Register) -> None:
    """Register GPT, the BERT-style encoders, T5 and the LSTM/GRU models."""
    from forge.nlp.models.catalog import register_models

    register_models(register)


@hookimpl
def forge_register_losses(register: Register) -> None:
    """Register the language-model cross-entropy (logits (B, T, V) against ids (B, T))."""
    from forge.nlp.models.catalog import register_losses

    register_losses(register)


@hookimpl
def forge_register_metrics(register: Register) -> None:
    """Register the text metrics."""
    _register_rows(register, _METRICS)


@hookimpl
def forge_register_recipes(register: Register) -> None:
    """Register the shipped recipes."""
    _register_rows(register, _RECIPES)
