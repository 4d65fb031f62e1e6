"""forge-nlp's entry-point module (``forge.plugins``: ``nlp = "forge.nlp.plugin"``).

Light on purpose: it imports only core's registration API and names builders and config classes
as ``"module:attr"`` strings, so ``forge plugins`` and ``forge list`` never import torch.
"""

from __future__ import annotations

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


@hookimpl
def forge_register_transforms(register: Register) -> None:
    """Register the tokenizers (byte, byte-level BPE, WordPiece, char)."""
    register(
        "byte_tokenizer",
        builder="forge.nlp.tokenizers.byte:ByteTokenizer",
        config="forge.nlp.tokenizers.configs:ByteTokenizerConfig",
        summary="Byte-level UTF-8 tokenizer (256 byte ids + special tokens; lossless for any Unicode text)",
        tags=("text", "tokenizer"),
    )
    register(
        "bpe_tokenizer",
        builder="forge.nlp.tokenizers.trained:BPETokenizer",
        config="forge.nlp.tokenizers.configs:BPETokenizerConfig",
        summary="Byte-level BPE learned from your text files (lossless for any Unicode text)",
        tags=("text", "tokenizer"),
    )
    register(
        "wordpiece_tokenizer",
        builder="forge.nlp.tokenizers.trained:WordPieceTokenizer",
        config="forge.nlp.tokenizers.configs:WordPieceTokenizerConfig",
        summary="WordPiece (BERT style) learned from your text files (lossy: lowercases, normalizes)",
        tags=("text", "tokenizer"),
    )
    register(
        "char_tokenizer",
        builder="forge.nlp.tokenizers.char:CharTokenizer",
        config="forge.nlp.tokenizers.configs:CharTokenizerConfig",
        summary="One id per character of an alphabet learned from your text files (lossless over it)",
        tags=("text", "tokenizer"),
    )


@hookimpl
def forge_register_datasets(register: Register) -> None:
    """Register the text datasets."""
    register(
        "stdlib_text",
        builder="forge.nlp.datasets.stdlib_text:build_stdlib_text",
        config="forge.nlp.datasets.configs:StdlibTextConfig",
        summary="Byte-level language modelling on Python's own standard-library sources (no download)",
        tags=("text", "language-modeling"),
    )
    register(
        "text_classification",
        builder="forge.nlp.datasets.classification:build_text_classification",
        config="forge.nlp.datasets.configs:TextClassificationConfig",
        summary="Labelled texts from a CSV, JSONL or label<TAB>text file, validated row by row, tokenized",
        tags=("text", "text-classification"),
    )
    register(
        "text_blocks",
        builder="forge.nlp.datasets.text_blocks:build_text_blocks",
        config="forge.nlp.datasets.configs:TextBlocksConfig",
        summary="Your text files tokenized and packed into fixed-length language-modelling blocks",
        tags=("text", "language-modeling"),
    )
    register(
        "text_stream",
        builder="forge.nlp.datasets.streaming:build_text_stream",
        config="forge.nlp.datasets.configs:TextStreamConfig",
        summary="Streamed, sharded corpus of many text files (one document per line), seeded order",
        tags=("text", "language-modeling", "streaming"),
    )


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
    _m, _c = "forge.nlp.metrics", "forge.nlp.metric_configs"
    register(
        "bleu",
        builder=f"{_m}:build_bleu",
        config=f"{_c}:BLEUConfig",
        summary="Corpus BLEU (0-100) equal to sacrebleu's default (13a tokens, exp smoothing); update(hyps, refs)",
        tags=("text", "generation", "translation"),
    )
    register(
        "rouge",
        builder=f"{_m}:build_rouge",
        config=f"{_c}:ROUGEConfig",
        summary="Mean ROUGE-1/2/L F-measure equal to the rouge-score package's (no stemming); update(preds, refs)",
        tags=("text", "generation", "summarization"),
    )
    register(
        "token_accuracy",
        builder=f"{_m}:build_token_accuracy",
        config=f"{_c}:TokenAccuracyConfig",
        summary="Share of target tokens predicted right (logits (..., V), targets (...)), padding left out",
        tags=("text", "language-modeling"),
    )
    register(
        "token_perplexity",
        builder=f"{_m}:build_token_perplexity",
        config=f"{_c}:TokenPerplexityConfig",
        summary="Perplexity from logits (B, T, V) or (N, V) and targets, padding (-100) left out",
        tags=("text", "language-modeling"),
    )


@hookimpl
def forge_register_recipes(register: Register) -> None:
    """Register the shipped recipes."""
    register(
        "char-lm",
        builder="forge.nlp.recipes:char-lm.toml",
        summary="Small byte-level GPT on Python's standard library: validation perplexity, then sampling",
        tags=("language-modeling", "generation", "quickstart"),
    )
    register(
        "gpt2-small",
        builder="forge.nlp.recipes:gpt2-small.toml",
        summary="GPT-2 small (124M) on Python's standard library as bytes: multi-GPU DDP/FSDP runs and throughput",
        tags=("language-modeling", "distributed", "gpu"),
    )
    register(
        "text-classification",
        builder="forge.nlp.recipes:text-classification.toml",
        summary="Small Transformer encoder classifying a shipped CSV of template sentences into 3 topics",
        tags=("text-classification", "quickstart"),
    )
