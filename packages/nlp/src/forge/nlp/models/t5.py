"""A T5 (v1.0) encoder-decoder: relative position bias buckets, RMS LayerNorm, no biases, ReLU
(or v1.1's gated-GELU) feed-forward, tied embeddings with the decoder output scaled by ``d_model ** -0.5``."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from forge.core.errors import ConfigError
from forge.nlp.models.configs import T5Config
from forge.nlp.models.layers import FeedForward, MultiHeadAttention, T5LayerNorm, check_ids, record_attention

__all__ = ["T5", "T5Stack", "build_t5", "example_input", "relative_position_bucket"]


def relative_position_bucket(
    relative_position: Tensor, *, bidirectional: bool, num_buckets: int, max_distance: int
) -> Tensor:
    """T5's bucket of each ``key - query`` offset: exact for small offsets, logarithmic up to
    ``max_distance``, saturated beyond; separate halves for each direction when ``bidirectional``."""
    buckets = torch.zeros_like(relative_position)
    if bidirectional:
        num_buckets //= 2
        buckets = buckets + (relative_position > 0).long() * num_buckets
        relative_position = relative_position.abs()
    else:
        relative_position = -torch.clamp(relative_position, max=0)
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    large = (
        max_exact
        + (
            torch.log(relative_position.float() / max_exact)
            / math.log(max_distance / max_exact)
            * (num_buckets - max_exact)
        ).long()
    )
    large = torch.clamp(large, max=num_buckets - 1)
    return buckets + torch.where(is_small, relative_position, large)


class _T5Layer(nn.Module):
    """One T5 block: self-attention, optional cross-attention, feed-forward; pre-RMS-norm residuals."""

    def __init__(self, config: T5Config, *, decoder: bool) -> None:
        super().__init__()
        d = config.d_model

        def attention(cross: bool) -> MultiHeadAttention:
            return MultiHeadAttention(
                d, config.n_heads, head_dim=config.d_kv, bias=False, dropout=config.dropout, scale=1.0, cross=cross
            )

        self.norm1 = T5LayerNorm(d, config.norm_eps)
        self.self_attn = attention(False)
        self.norm_cross = T5LayerNorm(d, config.norm_eps) if decoder else None
        self.cross_attn = attention(True) if decoder else None
        self.norm2 = T5LayerNorm(d, config.norm_eps)
        gated = config.feed_forward == "gated-gelu"
        self.ff = FeedForward(
            d, config.d_ff, act="gelu_tanh" if gated else "relu", bias=False, dropout=config.dropout, gated=gated
        )
        self.drop = nn.Dropout(config.dropout)

    def forward(
        self,
        x: Tensor,
        *,
        bias: Tensor,
        mask: Tensor | None,
        causal: bool,
        memory: Tensor | None = None,
        memory_mask: Tensor | None = None,
    ) -> Tensor:
        x = x + self.drop(self.self_attn(self.norm1(x), mask=mask, bias=bias, causal=causal))
        if self.cross_attn is not None and self.norm_cross is not None:
            x = x + self.drop(self.cross_attn(self.norm_cross(x), memory=memory, mask=memory_mask))
        out: Tensor = x + self.drop(self.ff(self.norm2(x)))
        return out


class T5Stack(nn.Module):
    """The encoder or decoder stack; its relative position bias is computed once and shared by all layers."""

    def __init__(self, config: T5Config, embed: nn.Embedding, *, decoder: bool, n_layers: int) -> None:
        super().__init__()
        self.config = config
        self.decoder = decoder
        self.embed = embed
        self.rel_bias = nn.Embedding(config.relative_attention_num_buckets, config.n_heads)
        self.layers = nn.ModuleList(_T5Layer(config, decoder=decoder) for _ in range(n_layers))
        self.norm_f = T5LayerNorm(config.d_model, config.norm_eps)
        self.drop = nn.Dropout(config.dropout)

    def position_bias(self, t: int, s: int, device: torch.device) -> Tensor:
        """The bias ``(1, heads, t, s)`` added to every layer's self-attention scores."""
        query = torch.arange(s - t, s, device=device)[:, None]
        key = torch.arange(s, device=device)[None, :]
        buckets = relative_position_bucket(
            key - query,
            bidirectional=not self.decoder,
            num_buckets=self.config.relative_attention_num_buckets,
            max_distance=self.config.relative_attention_max_distance,
        )
        bias: Tensor = self.rel_bias(buckets).permute(2, 0, 1)[None]
        return bias

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        *,
        memory: Tensor | None = None,
        memory_mask: Tensor | None = None,
    ) -> Tensor:
        t = input_ids.shape[1]
        x = self.drop(self.embed(input_ids))
        bias = self.position_bias(t, t, input_ids.device)
        mask = None if attention_mask is None else attention_mask.bool()[:, None, None, :]
        mem_mask = None if memory_mask is None else memory_mask.bool()[:, None, None, :]
        for layer in self.layers:
            x = layer(x, bias=bias, mask=mask, causal=self.decoder, memory=memory, memory_mask=mem_mask)
        out: Tensor = self.drop(self.norm_f(x))
        return out


class T5(nn.Module):
    """T5 encoder-decoder.

    ``forward(input_ids, decoder_input_ids, attention_mask=None, decoder_attention_mask=None)``
    returns logits ``(B, T_dec, vocab_size)``. :meth:`encode` and :meth:`decode` split it for
    generation (:func:`forge.nlp.generation.beam_search`).

    Args:
        config: The architecture.
    """

    def __init__(self, config: T5Config) -> None:
        super().__init__()
        self.config = config
        self.shared = nn.Embedding(config.vocab_size, config.d_model)
        self.encoder = T5Stack(config, self.shared, decoder=False, n_layers=config.n_layers)
        self.decoder = T5Stack(config, self.shared, decoder=True, n_layers=config.n_decoder_layers or config.n_layers)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self._init_weights()
        if config.tie_embeddings:
            self.lm_head.weight = self.shared.weight

    def _init_weights(self) -> None:
        # T5's initialization, which folds the missing 1/sqrt(d_kv) attention scale into the query.
        c = self.config
        nn.init.normal_(self.shared.weight, std=1.0)
        for name, p in self.named_parameters():
            if name.endswith(".q.weight"):
                nn.init.normal_(p, std=(c.d_model * c.d_kv) ** -0.5)
            elif name.endswith("qkv.weight"):
                inner = c.n_heads * c.d_kv
                with torch.no_grad():
                    p[:inner].normal_(std=(c.d_model * c.d_kv) ** -0.5)
                    p[inner:].normal_(std=c.d_model**-0.5)
            elif name.endswith("kv.weight") or name.endswith("fc1.weight") or name.endswith("gate.weight"):
                nn.init.normal_(p, std=c.d_model**-0.5)
            elif name.endswith("proj.weight"):
                nn.init.normal_(p, std=(c.n_heads * c.d_kv) ** -0.5)
            elif name.endswith("fc2.weight"):
                nn.init.normal_(p, std=c.d_ff**-0.5)
            elif name.endswith("rel_bias.weight"):
                nn.init.normal_(p, std=c.d_model**-0.5)
        nn.init.normal_(self.lm_head.weight, std=1.0)

    def encode(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Encoder states ``(B, S, d_model)`` and the source mask: the ``memory`` that :meth:`decode` reads."""
        check_ids(input_ids, self.config.vocab_size, "nlp.t5")
        return self.encoder(input_ids, attention_mask), attention_mask

    def decode(
        self,
        decoder_input_ids: Tensor,
        memory: tuple[Tensor, Tensor | None],
        decoder_attention_mask: Tensor | None = None,
    ) -> Tensor:
        """Logits ``(B, T, vocab_size)`` of the decoder given the :meth:`encode` output."""
        check_ids(decoder_input_ids, self.config.vocab_size, "nlp.t5 decoder")
        hidden, mask = memory
        h = self.decoder(decoder_input_ids, decoder_attention_mask, memory=hidden, memory_mask=mask)
        scale = self.config.scale_output if self.config.scale_output is not None else self.config.tie_embeddings
        if scale:
            h = h * self.config.d_model**-0.5
        logits: Tensor = self.lm_head(h)
        return logits

    def forward(
        self,
        input_ids: Tensor,
        decoder_input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        decoder_attention_mask: Tensor | None = None,
    ) -> Tensor:
        """Decoder logits ``(B, T_dec, vocab_size)``.

        Raises:
            ConfigError: no ``decoder_input_ids`` (build them with :meth:`shift_right` from the labels).
        """
        if decoder_input_ids is None:
            raise ConfigError("nlp.t5: forward needs decoder_input_ids (shift_right(labels))")
        return self.decode(decoder_input_ids, self.encode(input_ids, attention_mask), decoder_attention_mask)

    def shift_right(self, labels: Tensor) -> Tensor:
        """Decoder inputs from labels: start token (``pad_token_id``) prepended, last token dropped,
        ``-100`` replaced by padding."""
        start = torch.full_like(labels[:, :1], self.config.pad_token_id)
        shifted = torch.cat([start, labels[:, :-1]], dim=1)
        return shifted.masked_fill(shifted == -100, self.config.pad_token_id)

    @torch.no_grad()
    def attention_maps(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> list[Tensor]:
        """Per-layer encoder self-attention probabilities ``(B, heads, T, T)`` (explicit softmax)."""
        with record_attention() as maps:
            self.encode(input_ids, attention_mask)
        return maps


def build_t5(config: T5Config) -> T5:
    """Build a :class:`T5` (registered as ``nlp.t5``)."""
    return T5(config)


def example_input(config: T5Config) -> tuple[Tensor, Tensor, Tensor]:
    """Source ids, decoder input ids and a padded source mask for the conformance kit."""
    src = torch.randint(2, config.vocab_size, (2, 7))
    tgt = torch.randint(2, config.vocab_size, (2, 5))
    mask = torch.ones(2, 7, dtype=torch.long)
    mask[1, 4:] = 0
    return src, tgt, mask
