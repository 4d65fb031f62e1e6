"""A bidirectional Transformer encoder (BERT / RoBERTa architecture) with masked-LM and
sequence-classification heads."""

from __future__ import annotations

import attrs
import torch
from torch import Tensor, nn

from forge.core.errors import ConfigError
from forge.nlp.models.configs import EncoderClassifierConfig, EncoderConfig
from forge.nlp.models.layers import (
    TransformerBlock,
    activation,
    check_ids,
    drop_path_rates,
    init_weights,
    padding_mask,
    record_attention,
)

__all__ = [
    "Encoder",
    "EncoderClassifier",
    "EncoderMLM",
    "build_encoder_classifier",
    "build_encoder_mlm",
    "example_input",
]


class Encoder(nn.Module):
    """Embeddings (token + learned position + optional token type, LayerNorm, dropout), Transformer
    blocks, and BERT's optional tanh pooler over the first token.

    Args:
        config: The architecture.
    """

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.tok_emb = nn.Embedding(config.vocab_size, d, padding_idx=config.pad_token_id)
        self.pos_emb = nn.Embedding(config.max_positions, d)
        self.type_emb = nn.Embedding(config.type_vocab_size, d) if config.type_vocab_size > 0 else None
        self.emb_norm = nn.LayerNorm(d, eps=config.norm_eps)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            TransformerBlock(
                d,
                config.n_heads,
                config.d_ff or 4 * d,
                dropout=config.dropout,
                attn_dropout=config.attn_dropout,
                drop_path=rate,
                norm_eps=config.norm_eps,
                norm_first=config.norm_first,
                act=config.activation,
                attention=config.attention,
            )
            for rate in drop_path_rates(config.drop_path, config.n_layers)
        )
        self.norm_f = nn.LayerNorm(d, eps=config.norm_eps) if config.norm_first else nn.Identity()
        self.pooler = nn.Linear(d, d) if config.pooler else None
        init_weights(self)

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor | None = None, token_type_ids: Tensor | None = None
    ) -> Tensor:
        """Hidden states ``(B, T, d_model)`` of ``input_ids`` ``(B, T)`` (mask: 1 real, 0 padding)."""
        check_ids(input_ids, self.config.vocab_size, "nlp encoder")
        t = input_ids.shape[1]
        if t > self.config.max_positions - self.config.position_offset:
            raise ConfigError(
                f"nlp encoder: sequence of {t} tokens exceeds max_positions {self.config.max_positions}"
                + (f" minus position_offset {self.config.position_offset}" if self.config.position_offset else "")
            )
        positions = torch.arange(self.config.position_offset, self.config.position_offset + t, device=input_ids.device)
        x = self.tok_emb(input_ids) + self.pos_emb(positions)
        if self.type_emb is not None:
            types = token_type_ids if token_type_ids is not None else torch.zeros_like(input_ids)
            x = x + self.type_emb(types)
        x = self.drop(self.emb_norm(x))
        mask = padding_mask(attention_mask)
        for block in self.blocks:
            x = block(x, mask=mask)
        out: Tensor = self.norm_f(x)
        return out

    def pool(self, hidden: Tensor) -> Tensor:
        """The pooled first-token representation (``tanh(pooler(h[:, 0]))``, or ``h[:, 0]`` without pooler)."""
        first = hidden[:, 0]
        return torch.tanh(self.pooler(first)) if self.pooler is not None else first


class EncoderMLM(nn.Module):
    """An :class:`Encoder` with BERT's masked-LM head (dense, activation, LayerNorm, tied decoder + bias).

    The pooler is left out (``config.pooler`` is ignored), as in ``BertForMaskedLM``.

    ``forward`` returns vocabulary logits ``(B, T, vocab_size)`` at every position.
    """

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(attrs.evolve(config, pooler=False))  # the MLM head reads every position
        d = config.d_model
        self.head_dense = nn.Linear(d, d)
        self.head_act = activation(config.activation)
        self.head_norm = nn.LayerNorm(d, eps=config.norm_eps)
        self.decoder = nn.Linear(d, config.vocab_size)
        init_weights(self.head_dense)
        nn.init.zeros_(self.decoder.bias)
        self.decoder.weight = self.encoder.tok_emb.weight

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor | None = None, token_type_ids: Tensor | None = None
    ) -> Tensor:
        """Masked-LM logits ``(B, T, vocab_size)``."""
        h = self.encoder(input_ids, attention_mask, token_type_ids)
        logits: Tensor = self.decoder(self.head_norm(self.head_act(self.head_dense(h))))
        return logits

    @torch.no_grad()
    def attention_maps(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> list[Tensor]:
        """Per-layer attention probabilities ``(B, heads, T, T)``, computed with an explicit softmax."""
        with record_attention() as maps:
            self.encoder(input_ids, attention_mask)
        return maps


class EncoderClassifier(nn.Module):
    """An :class:`Encoder` with a classification head on the pooled first token (BERT's
    ``BertForSequenceClassification``).

    ``forward(input_ids, attention_mask=None)`` returns logits ``(B, num_classes)``.
    """

    def __init__(self, config: EncoderClassifierConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        p = config.classifier_dropout if config.classifier_dropout is not None else config.dropout
        self.drop = nn.Dropout(p)
        self.classifier = nn.Linear(config.d_model, config.num_classes)
        init_weights(self.classifier)

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor | None = None, token_type_ids: Tensor | None = None
    ) -> Tensor:
        """Class logits ``(B, num_classes)``."""
        h = self.encoder(input_ids, attention_mask, token_type_ids)
        logits: Tensor = self.classifier(self.drop(self.encoder.pool(h)))
        return logits

    @torch.no_grad()
    def attention_maps(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> list[Tensor]:
        """Per-layer attention probabilities ``(B, heads, T, T)``, computed with an explicit softmax."""
        with record_attention() as maps:
            self.encoder(input_ids, attention_mask)
        return maps


def build_encoder_mlm(config: EncoderConfig) -> EncoderMLM:
    """Build an :class:`EncoderMLM` (registered as ``nlp.encoder_mlm``)."""
    return EncoderMLM(config)


def build_encoder_classifier(config: EncoderClassifierConfig) -> EncoderClassifier:
    """Build an :class:`EncoderClassifier` (registered as ``nlp.encoder_classifier``)."""
    return EncoderClassifier(config)


def example_input(config: EncoderConfig) -> tuple[Tensor, Tensor]:
    """Random ids and a right-padded attention mask for the conformance kit."""
    t = min(8, config.max_positions - config.position_offset)
    ids = torch.randint(0, config.vocab_size, (2, t))
    mask = torch.ones(2, t, dtype=torch.long)
    mask[1, t // 2 :] = 0
    return ids, mask
