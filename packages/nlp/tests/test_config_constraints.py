"""Every nlp config field declares its constraint, and a value breaking one is refused when the config is built.

A new numeric, string or choice field without ``gt=/ge=/lt=/le=/one_of=/non_empty=`` fails
``test_every_field_declares_a_constraint`` until it declares one or is added to ``UNCONSTRAINED``
with the reason.
"""

from __future__ import annotations

from typing import Any

import pytest

from forge.core import load_recipe, registry
from forge.core.config import structure
from forge.core.errors import ConfigError
from forge.core.testing import check_constraints, config_classes

PROVIDER = "nlp"
MODULES = (
    "forge.nlp.models.configs",
    "forge.nlp.tokenizers.configs",
    "forge.nlp.datasets.configs",
    "forge.nlp.metric_configs",
    "forge.nlp.generation",
)
NOT_CONFIGS: dict[str, str] = {}
EXPECTED = {"GPTConfig", "T5Config", "ByteTokenizerConfig", "BPEOptions", "TextClassificationConfig", "BLEUConfig"}
"""Classes the scan must find (a guard against it finding nothing)."""
_EXTRAS = "may be empty; a validator refuses an empty token in it (non_empty would speak of the list)"
_IGNORE = "any id: the -100 padding convention is negative, and a real token id may be left out too"
UNCONSTRAINED = {
    "ByteTokenizerConfig.extra_special_tokens": _EXTRAS,
    "BPEOptions.extra_special_tokens": _EXTRAS,
    "WordPieceOptions.extra_special_tokens": _EXTRAS,
    "CharOptions.extra_special_tokens": _EXTRAS,
    "BPETokenizerConfig.extra_special_tokens": _EXTRAS,
    "WordPieceTokenizerConfig.extra_special_tokens": _EXTRAS,
    "CharTokenizerConfig.extra_special_tokens": _EXTRAS,
    "TextClassificationConfig.label_names": "class names, any strings; empty means integer labels; a validator "
    "refuses repeated names",
    "LMCrossEntropyConfig.ignore_index": _IGNORE,
    "TokenAccuracyConfig.ignore_index": _IGNORE,
    "TokenPerplexityConfig.ignore_index": _IGNORE,
    "GenerationConfig.stop_sequences": "sequences of token ids; its converter refuses an empty sequence",
}


CLASSES = config_classes(PROVIDER, MODULES, exclude=NOT_CONFIGS)


def test_every_field_declares_a_constraint() -> None:
    assert EXPECTED <= {c.__name__ for c in CLASSES}  # the scan finds the plugin's configs
    check_constraints(CLASSES, UNCONSTRAINED)


def _error(cls: type, data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        structure(data, cls, where="cfg")
    return str(info.value)


def _config_class(name: str) -> type:
    return next(c for c in CLASSES if c.__name__ == name)


@pytest.mark.parametrize(
    ("cls", "data", "message"),
    [
        ("GPTConfig", {"vocab_size": 0}, "cfg.vocab_size: expected a number >= 1, got 0"),
        ("GPTConfig", {"d_ff": 0}, "cfg.d_ff: expected a number >= 1, got 0"),
        ("GPTConfig", {"dropout": 1.0}, "cfg.dropout: expected a number >= 0 and < 1, got 1.0"),
        ("GPTConfig", {"norm_eps": 0.0}, "cfg.norm_eps: expected a number > 0, got 0.0"),
        ("GPTConfig", {"attn_dropout": float("inf")}, "cfg.attn_dropout: expected a finite number, got inf"),
        (
            "GPTConfig",
            {"activation": "swish"},
            "cfg.activation: expected one of 'gelu_tanh', 'gelu', 'relu', got 'swish'",
        ),
        ("EncoderConfig", {"type_vocab_size": -1}, "cfg.type_vocab_size: expected a number >= 0, got -1"),
        ("EncoderClassifierConfig", {"classifier_dropout": 1.0}, "cfg.classifier_dropout: expected a number >= 0 and"),
        ("T5Config", {"n_decoder_layers": 0}, "cfg.n_decoder_layers: expected a number >= 1, got 0"),
        ("T5Config", {"feed_forward": "gelu"}, "cfg.feed_forward: expected one of 'relu', 'gated-gelu', got 'gelu'"),
        ("RNNClassifierConfig", {"cell": "rnn"}, "cfg.cell: expected one of 'lstm', 'gru', got 'rnn'"),
        ("RNNSeq2SeqConfig", {"target_vocab_size": 0}, "cfg.target_vocab_size: expected a number >= 1, got 0"),
        ("LMCrossEntropyConfig", {"label_smoothing": -0.1}, "cfg.label_smoothing: expected a number >= 0 and < 1"),
        ("ByteTokenizerConfig", {"pad_token": ""}, "cfg.pad_token: expected non-empty, got ''"),
        ("ByteTokenizerConfig", {"errors": "surrogate"}, "cfg.errors: expected one of 'strict', 'replace', 'ignore'"),
        ("ByteTokenizerConfig", {"max_length": 0}, "cfg.max_length: expected a number >= 1, got 0"),
        (
            "ByteTokenizerConfig",
            {"extra_special_tokens": ["<a>", ""]},
            "cfg.extra_special_tokens: expected each item to be a non-empty string, got '' at index 1 of ['<a>', '']",
        ),
        ("BPETokenizerConfig", {"files": []}, "cfg.files: expected non-empty, got []"),
        (
            "WordPieceTokenizerConfig",
            {"files": ["a"], "continuing_prefix": ""},
            "cfg.continuing_prefix: expected non-empty",
        ),
        ("StdlibTextConfig", {"seq_len": 0}, "cfg.seq_len: expected a number >= 1, got 0"),
        ("StdlibTextConfig", {"seed": -1}, "cfg.seed: expected a number >= 0, got -1"),
        ("TextClassificationConfig", {"path": ""}, "cfg.path: expected non-empty, got ''"),
        ("TextClassificationConfig", {"path": "a", "max_length": 2}, "cfg.max_length: expected a number >= 3, got 2"),
        ("TextClassificationConfig", {"path": "a", "format": "tsv"}, "cfg.format: expected one of 'auto', 'csv'"),
        ("TextClassificationConfig", {"path": "a", "label_names": ["x", "x"]}, "cfg.label_names: expected distinct"),
        ("TextBlocksConfig", {"files": ["a"], "tokenizer": "spm"}, "cfg.tokenizer: expected one of 'bpe', 'wordpiece'"),
        (
            "TextStreamConfig",
            {"files": ["a"], "shuffle_buffer": -1},
            "cfg.shuffle_buffer: expected a number >= 0, got -1",
        ),
        ("BLEUConfig", {"max_ngram_order": 0}, "cfg.max_ngram_order: expected a number >= 1, got 0"),
        ("ROUGEConfig", {"rouge_type": "rougeLsum"}, "cfg.rouge_type: expected one of 'rouge1', 'rouge2', 'rougeL'"),
    ],
)
def test_a_value_breaking_a_declared_constraint_is_refused_naming_key_value_and_expectation(
    cls: str, data: dict[str, Any], message: str
) -> None:
    assert message in _error(_config_class(cls), data)


@pytest.mark.parametrize(
    ("cls", "data", "message"),
    [
        ("GPTConfig", {"d_model": 66}, "d_model, n_heads: expected d_model divisible by n_heads, got d_model 66 and"),
        ("ByteTokenizerConfig", {"padding": True}, "padding, max_length: padding=true needs max_length"),
        ("ByteTokenizerConfig", {"max_length": 1, "add_bos": True}, "max_length, add_bos, add_eos: max_length 1"),
        ("ByteTokenizerConfig", {"bos_token": "<pad>"}, "expected distinct special tokens, got ['<pad>', '<pad>'"),
        ("BPETokenizerConfig", {"files": ["a"], "vocab_size": 100}, "vocab_size, extra_special_tokens: vocab_size 100"),
        ("StdlibTextConfig", {"val_fraction": 0.6, "test_fraction": 0.6}, "val_fraction, test_fraction: expected a"),
        (
            "TextClassificationConfig",
            {"path": "a", "label_names": ["x", "y"], "num_classes": 3},
            "num_classes, label_names: num_classes 3 disagrees with the 2 label_names",
        ),
    ],
)
def test_a_cross_field_rule_names_both_keys_and_values(cls: str, data: dict[str, Any], message: str) -> None:
    text = _error(_config_class(cls), data)
    assert message in text
    assert all(repr(v) in text or str(v) in text for v in data.values() if not isinstance(v, (list, bool)))


def test_a_config_built_in_python_is_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"^n_heads: expected a number >= 1, got 0$"):
        _config_class("GPTConfig")(n_heads=0)
    with pytest.raises(ConfigError, match=r"^cell: expected one of 'lstm', 'gru', got 'rnn'$"):
        _config_class("RNNClassifierConfig")(cell="rnn")


def test_the_published_presets_stay_valid() -> None:
    from forge.nlp.models.configs import encoder_preset, gpt_preset, t5_preset

    for name in ("gpt2-small", "gpt2-medium"):
        gpt_preset(name)
    for name in ("bert-base", "roberta-base"):
        encoder_preset(name, num_classes=2)
    for name in ("t5-small", "t5-base"):
        t5_preset(name)


RECIPES = [s.name for s in registry.list("recipe") if s.provider == PROVIDER]


@pytest.mark.parametrize("name", RECIPES)
def test_every_shipped_recipe_and_the_components_it_nests_stay_valid(name: str) -> None:
    load_recipe(name).check()  # nested transform tables included
