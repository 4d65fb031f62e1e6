"""Config classes of forge-nlp's models and LM loss (no torch import).

``forge list`` and ``forge info`` read these classes to describe the models without loading any
model code. The registered defaults are deliberately tiny (fast to build and test); the published
sizes are in :data:`PRESETS` (``gpt_preset("gpt2-small")`` and friends give ready configs).
"""

from __future__ import annotations

from typing import Any, Literal, get_args

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

# The Literal types check values read from files; the tuples declare the same choices on the
# fields, so configs built in Python are checked too and `forge info` shows them.
_ACTIVATIONS: tuple[str, ...] = get_args(Activation)
_ATTENTION_KINDS: tuple[str, ...] = get_args(AttentionKind)
_CELLS: tuple[str, ...] = get_args(Cell)
_RNN_ATTENTIONS: tuple[str, ...] = get_args(RNNAttention)
_FEED_FORWARD_KINDS: tuple[str, ...] = get_args(FeedForwardKind)


def _heads_divide(d_model: int, n_heads: int) -> None:
    if d_model % n_heads:
        raise ConfigError(
            f"d_model, n_heads: expected d_model divisible by n_heads, got d_model {d_model} and n_heads {n_heads}"
        )


@attrs.frozen
class GPTConfig:
    """A decoder-only (GPT-2 style) causal Transformer language model with tied embeddings."""

    vocab_size: int = field(256, help="Vocabulary size (256 for byte-level text; GPT-2: 50257).", ge=1)
    max_seq_len: int = field(128, help="Longest sequence (learned positions; GPT-2: 1024).", ge=1)
    d_model: int = field(64, help="Width of the residual stream.", ge=1)
    n_layers: int = field(2, help="Number of Transformer blocks.", ge=1)
    n_heads: int = field(4, help="Attention heads per block (must divide d_model).", ge=1)
    d_ff: int | None = field(None, help="Hidden width of the feed-forward layer (None: 4 * d_model).", ge=1)
    dropout: float = field(0.0, help="Dropout on embeddings and residual branches.", ge=0, lt=1)
    attn_dropout: float = field(0.0, help="Dropout on attention probabilities.", ge=0, lt=1)
    drop_path: float = field(0.0, help="Stochastic depth: largest per-block drop rate (linear in depth).", ge=0, lt=1)
    norm_eps: float = field(1e-5, help="LayerNorm epsilon.", gt=0)
    norm_first: bool = field(True, help="Pre-LN blocks (GPT-2) instead of post-LN.")
    activation: Activation = field(
        "gelu_tanh", help="Feed-forward activation: gelu_tanh (GPT-2), gelu or relu.", one_of=_ACTIVATIONS
    )
    attention: AttentionKind = field(
        "softmax",
        help="'softmax' (scaled_dot_product_attention) or 'linear' (elu+1 feature map, O(T)).",
        one_of=_ATTENTION_KINDS,
    )
    bias: bool = field(True, help="Biases in linear layers and LayerNorms.")
    tie_embeddings: bool = field(True, help="Share the token embedding with the output projection.")

    def __attrs_post_init__(self) -> None:
        _heads_divide(self.d_model, self.n_heads)


@attrs.frozen
class EncoderConfig:
    """A bidirectional Transformer encoder (BERT / RoBERTa style) with a masked-LM head."""

    vocab_size: int = field(256, help="Vocabulary size (BERT-base uncased: 30522).", ge=1)
    max_positions: int = field(128, help="Learned position embeddings (BERT: 512).", ge=1)
    type_vocab_size: int = field(2, help="Token-type (segment) embeddings; 0 leaves them out (RoBERTa: 1).", ge=0)
    d_model: int = field(64, help="Hidden width.", ge=1)
    n_layers: int = field(2, help="Number of Transformer blocks.", ge=1)
    n_heads: int = field(4, help="Attention heads per block (must divide d_model).", ge=1)
    d_ff: int | None = field(None, help="Feed-forward hidden width (None: 4 * d_model).", ge=1)
    dropout: float = field(0.1, help="Dropout on embeddings and residual branches.", ge=0, lt=1)
    attn_dropout: float = field(0.1, help="Dropout on attention probabilities.", ge=0, lt=1)
    drop_path: float = field(0.0, help="Stochastic depth: largest per-block drop rate.", ge=0, lt=1)
    norm_eps: float = field(1e-5, help="LayerNorm epsilon (BERT: 1e-12).", gt=0)
    norm_first: bool = field(False, help="Pre-LN blocks instead of BERT's post-LN.")
    activation: Activation = field("gelu", help="Feed-forward activation (BERT: exact gelu).", one_of=_ACTIVATIONS)
    attention: AttentionKind = field(
        "softmax", help="'softmax' or 'linear' (elu+1 feature map).", one_of=_ATTENTION_KINDS
    )
    pad_token_id: int = field(0, help="Padding token id (BERT: 0, RoBERTa: 1).", ge=0)
    position_offset: int = field(
        0, help="First position id (RoBERTa: pad_token_id + 1 = 2); right padding assumed.", ge=0
    )
    pooler: bool = field(True, help="Keep BERT's tanh pooler over the first token.")

    def __attrs_post_init__(self) -> None:
        _heads_divide(self.d_model, self.n_heads)


@attrs.frozen
class EncoderClassifierConfig(EncoderConfig):
    """A bidirectional Transformer encoder with a sequence-classification head on the pooled first token."""

    num_classes: int = field(2, help="Number of output classes.", ge=1)
    classifier_dropout: float | None = field(None, help="Dropout before the classifier (None: dropout).", ge=0, lt=1)


@attrs.frozen
class T5Config:
    """A T5 (v1.0) encoder-decoder: relative position buckets, RMS LayerNorm, no biases."""

    vocab_size: int = field(256, help="Vocabulary size (T5: 32128).", ge=1)
    d_model: int = field(64, help="Hidden width.", ge=1)
    d_kv: int = field(16, help="Width of each attention head.", ge=1)
    n_heads: int = field(4, help="Attention heads.", ge=1)
    d_ff: int = field(128, help="Feed-forward hidden width.", ge=1)
    n_layers: int = field(2, help="Encoder blocks.", ge=1)
    n_decoder_layers: int | None = field(None, help="Decoder blocks (None: n_layers).", ge=1)
    relative_attention_num_buckets: int = field(32, help="Relative position buckets.", ge=1)
    relative_attention_max_distance: int = field(128, help="Distance beyond which buckets saturate.", ge=1)
    dropout: float = field(0.1, help="Dropout on residual branches and attention.", ge=0, lt=1)
    norm_eps: float = field(1e-6, help="T5 LayerNorm (RMS, no mean, no bias) epsilon.", gt=0)
    feed_forward: FeedForwardKind = field(
        "relu", help="'relu' (T5 v1.0) or 'gated-gelu' (T5 v1.1).", one_of=_FEED_FORWARD_KINDS
    )
    tie_embeddings: bool = field(True, help="Share input and output embeddings.")
    scale_output: bool | None = field(
        None, help="Scale the decoder output by d_model**-0.5 before the LM head (None: when tie_embeddings)."
    )
    pad_token_id: int = field(0, help="Padding id; also the decoder start token.", ge=0)
    eos_token_id: int = field(1, help="End-of-sequence id.", ge=0)


@attrs.frozen
class RNNClassifierConfig:
    """An LSTM/GRU sequence classifier with optional attention pooling over packed sequences."""

    vocab_size: int = field(256, help="Vocabulary size.", ge=1)
    num_classes: int = field(2, help="Number of output classes.", ge=1)
    embed_dim: int = field(32, help="Token embedding width.", ge=1)
    hidden_size: int = field(32, help="RNN hidden width (per direction).", ge=1)
    num_layers: int = field(1, help="Stacked RNN layers.", ge=1)
    cell: Cell = field("lstm", help="'lstm' or 'gru'.", one_of=_CELLS)
    bidirectional: bool = field(True, help="Run a backward RNN too and concatenate.")
    attention: RNNAttention = field(
        "additive",
        help="Pooling: 'none' (final state), 'additive' (Bahdanau) or 'dot' (Luong).",
        one_of=_RNN_ATTENTIONS,
    )
    dropout: float = field(0.1, help="Dropout on embeddings and before the classifier.", ge=0, lt=1)
    pad_token_id: int = field(0, help="Padding id (its embedding is zero).", ge=0)


@attrs.frozen
class RNNSeq2SeqConfig:
    """An LSTM/GRU encoder-decoder with additive (Bahdanau) or dot (Luong) attention."""

    vocab_size: int = field(256, help="Source vocabulary size.", ge=1)
    target_vocab_size: int | None = field(None, help="Target vocabulary size (None: vocab_size).", ge=1)
    embed_dim: int = field(32, help="Token embedding width.", ge=1)
    hidden_size: int = field(32, help="RNN hidden width.", ge=1)
    num_layers: int = field(1, help="Stacked RNN layers in encoder and decoder.", ge=1)
    cell: Cell = field("lstm", help="'lstm' or 'gru'.", one_of=_CELLS)
    attention: RNNAttention = field(
        "additive", help="'none', 'additive' (Bahdanau) or 'dot' (Luong).", one_of=_RNN_ATTENTIONS
    )
    dropout: float = field(0.1, help="Dropout on embeddings and outputs.", ge=0, lt=1)
    pad_token_id: int = field(0, help="Padding id; also the decoder start token.", ge=0)
    eos_token_id: int = field(1, help="End-of-sequence id of the target vocabulary.", ge=0)


@attrs.frozen
class LMCrossEntropyConfig:
    """Token-level cross-entropy for language models: logits (B, T, V) against targets (B, T)."""

    ignore_index: int = field(-100, help="Target id that contributes nothing (padding).")
    label_smoothing: float = field(0.0, help="Probability mass spread over the vocabulary.", ge=0, lt=1)


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
