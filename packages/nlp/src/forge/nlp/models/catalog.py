"""Registration of forge-nlp's models and LM loss, by name, without importing torch.

The plugin module calls :func:`register_models` and :func:`register_losses` from its hooks;
builders, configs and example inputs are ``"module:attr"`` strings, imported only when built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from forge.core.hookspecs import Register

__all__ = ["MODEL_NAMES", "register_losses", "register_models"]

_PKG = "forge.nlp.models"
_CFG = f"{_PKG}.configs"

# (name, builder, config, example, summary, tags)
_MODELS: tuple[tuple[str, str, str, str, str, tuple[str, ...]], ...] = (
    (
        "gpt",
        f"{_PKG}.gpt:build_gpt",
        f"{_CFG}:GPTConfig",
        f"{_PKG}.gpt:example_input",
        "Decoder-only causal Transformer LM (GPT-2 architecture; KV cache, static cache, tied embeddings)",
        ("language-modeling", "transformer", "generation"),
    ),
    (
        "encoder_mlm",
        f"{_PKG}.encoder:build_encoder_mlm",
        f"{_CFG}:EncoderConfig",
        f"{_PKG}.encoder:example_input",
        "BERT/RoBERTa-style bidirectional encoder with a tied masked-LM head",
        ("masked-language-modeling", "transformer"),
    ),
    (
        "encoder_classifier",
        f"{_PKG}.encoder:build_encoder_classifier",
        f"{_CFG}:EncoderClassifierConfig",
        f"{_PKG}.encoder:example_input",
        "BERT/RoBERTa-style encoder with a pooled sequence-classification head",
        ("text-classification", "transformer"),
    ),
    (
        "t5",
        f"{_PKG}.t5:build_t5",
        f"{_CFG}:T5Config",
        f"{_PKG}.t5:example_input",
        "T5 v1.0 encoder-decoder (relative position buckets, RMS LayerNorm, no biases)",
        ("seq2seq", "transformer", "generation"),
    ),
    (
        "rnn_classifier",
        f"{_PKG}.rnn:build_rnn_classifier",
        f"{_CFG}:RNNClassifierConfig",
        f"{_PKG}.rnn:classifier_example",
        "LSTM/GRU classifier over packed sequences with additive or dot attention pooling",
        ("text-classification", "rnn"),
    ),
    (
        "rnn_seq2seq",
        f"{_PKG}.rnn:build_rnn_seq2seq",
        f"{_CFG}:RNNSeq2SeqConfig",
        f"{_PKG}.rnn:seq2seq_example",
        "LSTM/GRU encoder-decoder with Bahdanau (additive) or Luong (dot) attention",
        ("seq2seq", "rnn", "generation"),
    ),
)

MODEL_NAMES: tuple[str, ...] = tuple(m[0] for m in _MODELS)
"""Short names of the registered models (qualified as ``nlp.<name>``)."""


def register_models(register: Register) -> None:
    """Register every forge-nlp model."""
    for name, builder, config, example, summary, tags in _MODELS:
        register(name, builder=builder, config=config, example=example, summary=summary, tags=("text", *tags))


def register_losses(register: Register) -> None:
    """Register the language-model cross-entropy."""
    register(
        "lm_cross_entropy",
        builder=f"{_PKG}.losses:build_lm_cross_entropy",
        config=f"{_CFG}:LMCrossEntropyConfig",
        summary="Token-level cross-entropy: logits (B, T, V) against next-token ids (B, T)",
        tags=("language-modeling",),
    )
