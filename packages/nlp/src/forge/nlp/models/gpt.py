"""A decoder-only causal Transformer language model (GPT-2 architecture), with KV caches for decoding.

``forward(input_ids)`` returns next-token logits ``(B, T, vocab_size)``, so it trains through forge's
Trainer with :class:`forge.nlp.models.losses.LMCrossEntropy` (registered as ``nlp.lm_cross_entropy``)
on ``(input_ids, next_ids)`` batches, and core's ``perplexity`` metric reads the same logits.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from forge.core.errors import ConfigError
from forge.nlp.models.configs import GPTConfig
from forge.nlp.models.layers import (
    DynamicKVCache,
    KVCache,
    StaticKVCache,
    TransformerBlock,
    check_ids,
    drop_path_rates,
    init_weights,
    padding_mask,
    record_attention,
    scaled_residual_init,
)

__all__ = ["GPT", "build_gpt", "example_input"]


class GPT(nn.Module):
    """GPT: token + learned position embeddings, pre-LN blocks, final LayerNorm, tied LM head.

    Args:
        config: The architecture.

    Example:
        >>> model = GPT(GPTConfig(vocab_size=256, d_model=32, n_layers=1, n_heads=2))
        >>> model(torch.zeros(2, 5, dtype=torch.long)).shape
        torch.Size([2, 5, 256])
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        d_ff = config.d_ff or 4 * config.d_model
        self.tok_emb = nn.Embedding(config.vocab_size, config.d_model)
        self.pos_emb = nn.Embedding(config.max_seq_len, config.d_model)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            TransformerBlock(
                config.d_model,
                config.n_heads,
                d_ff,
                dropout=config.dropout,
                attn_dropout=config.attn_dropout,
                drop_path=rate,
                norm_eps=config.norm_eps,
                norm_first=config.norm_first,
                act=config.activation,
                attention=config.attention,
                bias=config.bias,
            )
            for rate in drop_path_rates(config.drop_path, config.n_layers)
        )
        self.norm_f = (
            nn.LayerNorm(config.d_model, eps=config.norm_eps, bias=config.bias) if config.norm_first else nn.Identity()
        )
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        init_weights(self)
        scaled_residual_init(self.blocks, config.n_layers)
        if config.tie_embeddings:
            self.lm_head.weight = self.tok_emb.weight

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.config.d_model // self.config.n_heads

    def new_cache(
        self,
        batch_size: int,
        max_len: int | None = None,
        *,
        static: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> KVCache:
        """An empty KV cache for decoding ``batch_size`` sequences.

        Args:
            batch_size: Sequences decoded together.
            max_len: Positions a static cache holds (default ``max_seq_len``).
            static: Preallocate (fixed shapes, CUDA-graph friendly) instead of growing.
            device: Where a static cache lives (default: the model's device).
            dtype: A static cache's dtype (default: the model's).

        Raises:
            ConfigError: linear attention (no cache), or ``max_len`` beyond ``max_seq_len``.
        """
        if self.config.attention == "linear":
            raise ConfigError("GPT with linear attention keeps no KV cache; decode it with cache='none'")
        if not static:
            return DynamicKVCache(self.config.n_layers)
        max_len = max_len or self.config.max_seq_len
        if max_len > self.config.max_seq_len:
            raise ConfigError(f"cache max_len {max_len} exceeds the model's max_seq_len {self.config.max_seq_len}")
        p = self.tok_emb.weight
        return StaticKVCache(
            self.config.n_layers,
            batch_size,
            self.config.n_heads,
            self.head_dim,
            max_len,
            device=device or p.device,
            dtype=dtype or p.dtype,
        )

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        *,
        cache: KVCache | None = None,
        positions: Tensor | None = None,
    ) -> Tensor:
        """Next-token logits.

        Args:
            input_ids: Token ids ``(B, T)``.
            attention_mask: ``(B, S)`` 1 for real tokens, 0 for padding (S = T, or with a cache the
                cached plus new positions).
            cache: KV cache of earlier positions (from :meth:`new_cache`); updated in place.
            positions: Positions of ``input_ids`` ``(T,)``; default ``0..T-1``, or with a dynamic cache
                right after the cached ones. A static cache needs them.

        Returns:
            Logits ``(B, T, vocab_size)``.

        Raises:
            ConfigError: bad ids, too long a sequence, or a static cache without positions.
        """
        check_ids(input_ids, self.config.vocab_size, "nlp.gpt")
        t = input_ids.shape[1]
        if positions is None:
            if isinstance(cache, StaticKVCache):
                raise ConfigError("nlp.gpt: decoding with a static cache needs explicit positions")
            start = cache.length if isinstance(cache, DynamicKVCache) else 0
            if start + t > self.config.max_seq_len:
                raise ConfigError(
                    f"nlp.gpt: sequence of {start + t} tokens exceeds max_seq_len {self.config.max_seq_len}"
                )
            positions = torch.arange(start, start + t, device=input_ids.device)
        x = self.drop(self.tok_emb(input_ids) + self.pos_emb(positions))
        mask = padding_mask(attention_mask)
        for i, block in enumerate(self.blocks):
            x = block(x, mask=mask, causal=True, cache=cache, layer=i, positions=positions)
        logits: Tensor = self.lm_head(self.norm_f(x))
        return logits

    @torch.no_grad()
    def attention_maps(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> list[Tensor]:
        """Per-layer causal attention probabilities ``(B, heads, T, T)``, computed with an explicit softmax."""
        with record_attention() as maps:
            self(input_ids, attention_mask)
        return maps


def build_gpt(config: GPTConfig) -> GPT:
    """Build a :class:`GPT` (registered as ``nlp.gpt``)."""
    return GPT(config)


def example_input(config: GPTConfig) -> Tensor:
    """A small batch of random token ids for the conformance kit."""
    return torch.randint(0, config.vocab_size, (2, min(8, config.max_seq_len)))
