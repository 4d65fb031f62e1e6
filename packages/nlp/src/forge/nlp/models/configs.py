"""Config classes of forge-nlp's models and LM loss (no torch import).

``forge list`` and ``forge info`` read these classes to describe the models without loading any
model code. The registered defaults are deliberately tiny (fast to build and test); the published
sizes are in :data:`PRESETS` (``gpt_preset("gpt2-small")`` and friends give ready configs).
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from forge.core.config import field
from forge.core.errors import ConfigError

__all__ = [
    "PRESETS",
    "EncoderClassifierConfig",
    "EncoderConfig",
    "GPTConfig",
    "LMCrossEntropyConfig",
    "RNNClassifierConfig",
    "RNNSeq2SeqConfig",
    "T5Config",
    "encoder_preset",
    "gpt_preset",
    "t5_preset",
]

Activation = Literal["gelu_tanh", "gelu", "relu"]
AttentionKind = Literal["softmax", "linear"]
Cell = Literal["lstm", "gru"]
RNNAttention = Literal["none", "additive", "dot"]
FeedForwardKind = Literal["relu", "gated-gelu"]


def _positive(instance: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and value < 1:
        raise ConfigError(f"{attribute.name} must be >= 1, got {value!r}")


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if value < 0:
        raise ConfigError(f"{attribute.name} must be >= 0, got {value!r}")


def _probability(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ConfigError(f"{attribute.name} must lie in [0, 1), got {value!r}")


def _eps(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0.0:
        raise ConfigError(f"{attribute.name} must be > 0, got {value!r}")


def _heads_divide(name: str, d_model: int, n_heads: int) -> None:
    if d_model % n_heads:
        raise ConfigError(f"{name}: d_model {d_model} is not divisible by n_heads {n_heads}")


@attrs.frozen
class GPTConfig:
    """A decoder-only (GPT-2 style) causal Transformer language model with tied embeddings."""

    vocab_size: int = field(256, help="Vocabulary size (256 for byte-level text; GPT-2: 50257).", validator=_positive)
    max_seq_len: int = field(128, help="Longest sequence (learned positions; GPT-2: 1024).", validator=_positive)
    d_model: int = field(64, help="Width of the residual stream.", validator=_positive)
    n_layers: int = field(2, help="Number of Transformer blocks.", validator=_positive)
    n_heads: int = field(4, help="Attention heads per block (must divide d_model).", validator=_positive)
    d_ff: int | None = field(None, help="Hidden width of the feed-forward layer (None: 4 * d_model).")
    dropout: float = field(0.0, help="Dropout on embeddings and residual branches.", validator=_probability)
    attn_dropout: float = field(0.0, help="Dropout on attention probabilities.", validator=_probability)
    drop_path: float = field(
        0.0, help="Stochastic depth: largest per-block drop rate (linear in depth).", validator=_probability
    )
    norm_eps: float = field(1e-5, help="LayerNorm epsilon.", validator=_eps)
    norm_first: bool = field(True, help="Pre-LN blocks (GPT-2) instead of post-LN.")
    activation: Activation = field("gelu_tanh", help="Feed-forward activation: gelu_tanh (GPT-2), gelu or relu.")
    attention: AttentionKind = field(
        "softmax", help="'softmax' (scaled_dot_product_attention) or 'linear' (elu+1 feature map, O(T))."
    )
    bias: bool = field(True, help="Biases in linear layers and LayerNorms.")
    tie_embeddings: bool = field(True, help="Share the token embedding with the output projection.")

    def __attrs_post_init__(self) -> None:
        _heads_divide("GPTConfig", self.d_model, self.n_heads)
        _positive(self, attrs.fields(GPTConfig).d_ff, self.d_ff)


@attrs.frozen
class EncoderConfig:
    """A bidirectional Transformer encoder (BERT / RoBERTa style) with a masked-LM head."""

    vocab_size: int = field(256, help="Vocabulary size (BERT-base uncased: 30522).", validator=_positive)
    max_positions: int = field(128, help="Learned position embeddings (BERT: 512).", validator=_positive)
    type_vocab_size: int = field(
        2, help="Token-type (segment) embeddings; 0 leaves them out (RoBERTa: 1).", validator=_non_negative
    )
    d_model: int = field(64, help="Hidden width.", validator=_positive)
    n_layers: int = field(2, help="Number of Transformer blocks.", validator=_positive)
    n_heads: int = field(4, help="Attention heads per block (must divide d_model).", validator=_positive)
    d_ff: int | None = field(None, help="Feed-forward hidden width (None: 4 * d_model).")
    dropout: float = field(0.1, help="Dropout on embeddings and residual branches.", validator=_probability)
    attn_dropout: float = field(0.1, help="Dropout on attention probabilities.", validator=_probability)
    drop_path: float = field(0.0, help="Stochastic depth: largest per-block drop rate.", validator=_probability)
    norm_eps: float = field(1e-5, help="LayerNorm epsilon (BERT: 1e-12).", validator=_eps)
    norm_first: bool = field(False, help="Pre-LN blocks instead of BERT's post-LN.")
    activation: Activation = field("gelu", help="Feed-forward activation (BERT: exact gelu).")
    attention: AttentionKind = field("softmax", help="'softmax' or 'linear' (elu+1 feature map).")
    pad_token_id: int = field(0, help="Padding token id (BERT: 0, RoBERTa: 1).", validator=_non_negative)
    position_offset: int = field(
        0, help="First position id (RoBERTa: pad_token_id + 1 = 2); right padding assumed.", validator=_non_negative
    )
    pooler: bool = field(True, help="Keep BERT's tanh pooler over the first token.")

    def __attrs_post_init__(self) -> None:
        _heads_divide(type(self).__name__, self.d_model, self.n_heads)
        _positive(self, attrs.fields(EncoderConfig).d_ff, self.d_ff)


@attrs.frozen
class EncoderClassifierConfig(EncoderConfig):
    """A bidirectional Transformer encoder with a sequence-classification head on the pooled first token."""

    num_classes: int = field(2, help="Number of output classes.", validator=_positive)
    classifier_dropout: float | None = field(None, help="Dropout before the classifier (None: dropout).")


@attrs.frozen
class T5Config:
    """A T5 (v1.0) encoder-decoder: relative position buckets, RMS LayerNorm, no biases."""

    vocab_size: int = field(256, help="Vocabulary size (T5: 32128).", validator=_positive)
    d_model: int = field(64, help="Hidden width.", validator=_positive)
    d_kv: int = field(16, help="Width of each attention head.", validator=_positive)
    n_heads: int = field(4, help="Attention heads.", validator=_positive)
    d_ff: int = field(128, help="Feed-forward hidden width.", validator=_positive)
    n_layers: int = field(2, help="Encoder blocks.", validator=_positive)
    n_decoder_layers: int | None = field(None, help="Decoder blocks (None: n_layers).")
    relative_attention_num_buckets: int = field(32, help="Relative position buckets.", validator=_positive)
    relative_attention_max_distance: int = field(
        128, help="Distance beyond which buckets saturate.", validator=_positive
    )
    dropout: float = field(0.1, help="Dropout on residual branches and attention.", validator=_probability)
    norm_eps: float = field(1e-6, help="T5 LayerNorm (RMS, no mean, no bias) epsilon.", validator=_eps)
    feed_forward: FeedForwardKind = field("relu", help="'relu' (T5 v1.0) or 'gated-gelu' (T5 v1.1).")
    tie_embeddings: bool = field(True, help="Share input and output embeddings.")
    scale_output: bool | None = field(
        None, help="Scale the decoder output by d_model**-0.5 before the LM head (None: when tie_embeddings)."
    )
    pad_token_id: int = field(0, help="Padding id; also the decoder start token.", validator=_non_negative)
    eos_token_id: int = field(1, help="End-of-sequence id.", validator=_non_negative)

    def __attrs_post_init__(self) -> None:
        _positive(self, attrs.fields(T5Config).n_decoder_layers, self.n_decoder_layers)


@attrs.frozen
class RNNClassifierConfig:
    """An LSTM/GRU sequence classifier with optional attention pooling over packed sequences."""

    vocab_size: int = field(256, help="Vocabulary size.", validator=_positive)
    num_classes: int = field(2, help="Number of output classes.", validator=_positive)
    embed_dim: int = field(32, help="Token embedding width.", validator=_positive)
    hidden_size: int = field(32, help="RNN hidden width (per direction).", validator=_positive)
    num_layers: int = field(1, help="Stacked RNN layers.", validator=_positive)
    cell: Cell = field("lstm", help="'lstm' or 'gru'.")
    bidirectional: bool = field(True, help="Run a backward RNN too and concatenate.")
    attention: RNNAttention = field(
        "additive", help="Pooling: 'none' (final state), 'additive' (Bahdanau) or 'dot' (Luong)."
    )
    dropout: float = field(0.1, help="Dropout on embeddings and before the classifier.", validator=_probability)
    pad_token_id: int = field(0, help="Padding id (its embedding is zero).", validator=_non_negative)


@attrs.frozen
class RNNSeq2SeqConfig:
    """An LSTM/GRU encoder-decoder with additive (Bahdanau) or dot (Luong) attention."""

    vocab_size: int = field(256, help="Source vocabulary size.", validator=_positive)
    target_vocab_size: int | None = field(None, help="Target vocabulary size (None: vocab_size).")
    embed_dim: int = field(32, help="Token embedding width.", validator=_positive)
    hidden_size: int = field(32, help="RNN hidden width.", validator=_positive)
    num_layers: int = field(1, help="Stacked RNN layers in encoder and decoder.", validator=_positive)
    cell: Cell = field("lstm", help="'lstm' or 'gru'.")
    attention: RNNAttention = field("additive", help="'none', 'additive' (Bahdanau) or 'dot' (Luong).")
    dropout: float = field(0.1, help="Dropout on embeddings and outputs.", validator=_probability)
    pad_token_id: int = field(0, help="Padding id; also the decoder start token.", validator=_non_negative)
    eos_token_id: int = field(1, help="End-of-sequence id of the target vocabulary.", validator=_non_negative)

    def __attrs_post_init__(self) -> None:
        _positive(self, attrs.fields(RNNSeq2SeqConfig).target_vocab_size, self.target_vocab_size)


@attrs.frozen
class LMCrossEntropyConfig:
    """Token-level cross-entropy for language models: logits (B, T, V) against targets (B, T)."""

    ignore_index: int = field(-100, help="Target id that contributes nothing (padding).")
    label_smoothing: float = field(0.0, help="Probability mass spread over the vocabulary.", validator=_probability)


PRESETS: dict[str, dict[str, Any]] = {
    "gpt2-small": {
        "vocab_size": 50257,
        "max_seq_len": 1024,
        "d_model": 768,
        "n_layers": 12,
        "n_heads": 12,
        "dropout": 0.1,
        "attn_dropout": 0.1,
    },
    "gpt2-medium": {
        "vocab_size": 50257,
        "max_seq_len": 1024,
        "d_model": 1024,
        "n_layers": 24,
        "n_heads": 16,
        "dropout": 0.1,
        "attn_dropout": 0.1,
    },
    "bert-base": {
        "vocab_size": 30522,
        "max_positions": 512,
        "type_vocab_size": 2,
        "d_model": 768,
        "n_layers": 12,
        "n_heads": 12,
        "d_ff": 3072,
        "norm_eps": 1e-12,
        "activation": "gelu",
        "norm_first": False,
    },
    "roberta-base": {
        "vocab_size": 50265,
        "max_positions": 514,
        "type_vocab_size": 1,
        "d_model": 768,
        "n_layers": 12,
        "n_heads": 12,
        "d_ff": 3072,
        "norm_eps": 1e-5,
        "activation": "gelu",
        "norm_first": False,
        "pad_token_id": 1,
        "position_offset": 2,
    },
    "t5-small": {
        "vocab_size": 32128,
        "d_model": 512,
        "d_kv": 64,
        "n_heads": 8,
        "d_ff": 2048,
        "n_layers": 6,
        "relative_attention_num_buckets": 32,
        "relative_attention_max_distance": 128,
        "feed_forward": "relu",
    },
    "t5-base": {
        "vocab_size": 32128,
        "d_model": 768,
        "d_kv": 64,
        "n_heads": 12,
        "d_ff": 3072,
        "n_layers": 12,
        "feed_forward": "relu",
    },
}
"""Published model sizes: preset name -> config fields."""

_PRESET_FAMILY = {
    "gpt2-small": "gpt",
    "gpt2-medium": "gpt",
    "bert-base": "encoder",
    "roberta-base": "encoder",
    "t5-small": "t5",
    "t5-base": "t5",
}


def _preset(name: str, family: str) -> dict[str, Any]:
    if _PRESET_FAMILY.get(name) != family:
        known = ", ".join(k for k, v in _PRESET_FAMILY.items() if v == family)
        raise ConfigError(f"no {family} preset {name!r}; known: {known}")
    return dict(PRESETS[name])


def gpt_preset(name: str, **overrides: Any) -> GPTConfig:
    """A :class:`GPTConfig` of a published size (``"gpt2-small"``, ``"gpt2-medium"``), with overrides.

    Raises:
        ConfigError: unknown preset or invalid override.

    Example:
        >>> gpt_preset("gpt2-small", vocab_size=50304).d_model
        768
    """
    return GPTConfig(**{**_preset(name, "gpt"), **overrides})


def encoder_preset(name: str, *, num_classes: int | None = None, **overrides: Any) -> EncoderConfig:
    """An :class:`EncoderConfig` (``"bert-base"``, ``"roberta-base"``); with ``num_classes`` an
    :class:`EncoderClassifierConfig`.

    Raises:
        ConfigError: unknown preset or invalid override.
    """
    fields = {**_preset(name, "encoder"), **overrides}
    if num_classes is not None:
        return EncoderClassifierConfig(num_classes=num_classes, **fields)
    return EncoderConfig(**fields)


def t5_preset(name: str, **overrides: Any) -> T5Config:
    """A :class:`T5Config` of a published size (``"t5-small"``, ``"t5-base"``), with overrides.

    Raises:
        ConfigError: unknown preset or invalid override.
    """
    return T5Config(**{**_preset(name, "t5"), **overrides})
