"""LSTM/GRU models: a sequence classifier and an encoder-decoder, with additive (Bahdanau) or
dot-product (Luong) attention, over packed variable-length sequences."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from forge.core.errors import ConfigError
from forge.nlp.models.configs import RNNClassifierConfig, RNNSeq2SeqConfig
from forge.nlp.models.layers import check_ids

__all__ = [
    "RNNAttention",
    "RNNClassifier",
    "RNNSeq2Seq",
    "build_rnn_classifier",
    "build_rnn_seq2seq",
    "classifier_example",
    "seq2seq_example",
]


def _lengths(input_ids: Tensor, attention_mask: Tensor | None, where: str) -> Tensor:
    """Per-sequence lengths (CPU int64) from a right-padded mask, or full length without one."""
    b, t = input_ids.shape
    if attention_mask is None:
        return torch.full((b,), t, dtype=torch.long)
    lengths = attention_mask.long().sum(dim=1).cpu()
    if bool((lengths < 1).any()):
        raise ConfigError(f"{where}: every sequence needs at least one token (attention_mask row of zeros)")
    return lengths


def _rnn(cell: str, input_size: int, hidden: int, layers: int, *, bidirectional: bool, dropout: float) -> nn.RNNBase:
    cls = nn.LSTM if cell == "lstm" else nn.GRU
    return cls(
        input_size,
        hidden,
        num_layers=layers,
        batch_first=True,
        bidirectional=bidirectional,
        dropout=dropout if layers > 1 else 0.0,
    )


class RNNAttention(nn.Module):
    """Attention of one query per sequence over a sequence of keys.

    ``additive`` (Bahdanau): ``v^T tanh(W_k k + W_q q)``; ``dot`` (Luong): ``k . W q``.

    Args:
        kind: ``"additive"`` or ``"dot"``.
        key_dim: Width of the keys (and values).
        query_dim: Width of the queries.
    """

    def __init__(self, kind: Literal["additive", "dot"], key_dim: int, query_dim: int) -> None:
        super().__init__()
        self.kind = kind
        if kind == "additive":
            self.w_key = nn.Linear(key_dim, key_dim, bias=False)
            self.w_query = nn.Linear(query_dim, key_dim)
            self.v = nn.Linear(key_dim, 1, bias=False)
        else:
            self.w_query = nn.Linear(query_dim, key_dim, bias=False)

    def forward(self, query: Tensor, keys: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """Context ``(B, Tq, key_dim)`` and weights ``(B, Tq, S)`` of queries ``(B, Tq, query_dim)``
        over keys ``(B, S, key_dim)``; ``mask`` ``(B, S)`` is True at real positions."""
        if self.kind == "additive":
            scores = self.v(torch.tanh(self.w_key(keys)[:, None] + self.w_query(query)[:, :, None])).squeeze(-1)
        else:
            scores = self.w_query(query) @ keys.transpose(1, 2)
        if mask is not None:
            scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
        weights = scores.softmax(dim=-1)
        return weights @ keys, weights


class RNNClassifier(nn.Module):
    """Embedding, (bi)LSTM/GRU over packed sequences, attention pooling (or the final state), classifier.

    ``forward(input_ids, attention_mask=None)`` returns logits ``(B, num_classes)``; padding must be
    on the right.

    Args:
        config: The architecture.
    """

    def __init__(self, config: RNNClassifierConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=config.pad_token_id)
        self.rnn = _rnn(
            config.cell,
            config.embed_dim,
            config.hidden_size,
            config.num_layers,
            bidirectional=config.bidirectional,
            dropout=config.dropout,
        )
        width = config.hidden_size * (2 if config.bidirectional else 1)
        self.attention = RNNAttention(config.attention, width, width) if config.attention != "none" else None
        self.drop = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(width, config.num_classes)

    def _encode(self, input_ids: Tensor, attention_mask: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        check_ids(input_ids, self.config.vocab_size, "nlp.rnn_classifier")
        lengths = _lengths(input_ids, attention_mask, "nlp.rnn_classifier")
        packed = pack_padded_sequence(self.drop(self.embed(input_ids)), lengths, batch_first=True, enforce_sorted=False)
        out_packed, state = self.rnn(packed)
        outputs, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=input_ids.shape[1])
        h = state[0] if isinstance(state, tuple) else state  # (layers * dirs, B, H)
        if self.config.bidirectional:
            final = torch.cat([h[-2], h[-1]], dim=-1)
        else:
            final = h[-1]
        mask = torch.arange(input_ids.shape[1])[None, :] < lengths[:, None]
        return outputs, final, mask.to(input_ids.device)

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """Class logits ``(B, num_classes)``."""
        outputs, final, mask = self._encode(input_ids, attention_mask)
        pooled = final
        if self.attention is not None:
            pooled = self.attention(final[:, None], outputs, mask)[0][:, 0]
        logits: Tensor = self.classifier(self.drop(pooled))
        return logits

    @torch.no_grad()
    def attention_weights(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """Pooling attention over the tokens ``(B, T)`` (zero at padding).

        Raises:
            ConfigError: the model pools without attention.
        """
        if self.attention is None:
            raise ConfigError("nlp.rnn_classifier: attention='none' has no attention weights")
        outputs, final, mask = self._encode(input_ids, attention_mask)
        weights: Tensor = self.attention(final[:, None], outputs, mask)[1][:, 0]
        return weights


class RNNSeq2Seq(nn.Module):
    """LSTM/GRU encoder-decoder (Luong style: attention over the encoder outputs after the decoder RNN,
    ``tanh(W [h; context])`` before the output projection).

    ``forward(input_ids, decoder_input_ids, attention_mask=None)`` returns logits
    ``(B, T_dec, target_vocab_size)`` (teacher forcing); :meth:`encode` / :meth:`decode` serve
    :func:`forge.nlp.generation.beam_search`.

    Args:
        config: The architecture.
    """

    def __init__(self, config: RNNSeq2SeqConfig) -> None:
        super().__init__()
        self.config = config
        tgt_vocab = config.target_vocab_size or config.vocab_size
        h = config.hidden_size
        self.src_embed = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=config.pad_token_id)
        self.tgt_embed = nn.Embedding(tgt_vocab, config.embed_dim, padding_idx=config.pad_token_id)
        self.encoder = _rnn(
            config.cell, config.embed_dim, h, config.num_layers, bidirectional=False, dropout=config.dropout
        )
        self.decoder = _rnn(
            config.cell, config.embed_dim, h, config.num_layers, bidirectional=False, dropout=config.dropout
        )
        self.attention = RNNAttention(config.attention, h, h) if config.attention != "none" else None
        self.combine = nn.Linear(2 * h, h) if self.attention is not None else None
        self.drop = nn.Dropout(config.dropout)
        self.out = nn.Linear(h, tgt_vocab)

    def encode(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> tuple[Tensor, ...]:
        """Encoder outputs ``(B, S, H)``, source mask ``(B, S)`` and the final state(s) ``(B, layers, H)``:
        the batch-first ``memory`` that :meth:`decode` reads."""
        check_ids(input_ids, self.config.vocab_size, "nlp.rnn_seq2seq")
        lengths = _lengths(input_ids, attention_mask, "nlp.rnn_seq2seq")
        packed = pack_padded_sequence(
            self.drop(self.src_embed(input_ids)), lengths, batch_first=True, enforce_sorted=False
        )
        out_packed, state = self.encoder(packed)
        outputs, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=input_ids.shape[1])
        mask = (torch.arange(input_ids.shape[1])[None, :] < lengths[:, None]).to(input_ids.device)
        states = state if isinstance(state, tuple) else (state,)
        return (outputs, mask, *(s.transpose(0, 1) for s in states))

    def decode(self, decoder_input_ids: Tensor, memory: tuple[Tensor, ...]) -> Tensor:
        """Logits ``(B, T, target_vocab_size)`` for the decoder inputs given :meth:`encode`'s memory."""
        outputs, mask, *states = memory
        init = tuple(s.transpose(0, 1).contiguous() for s in states)
        h0 = init if self.config.cell == "lstm" else init[0]
        dec, _ = self.decoder(self.drop(self.tgt_embed(decoder_input_ids)), h0)
        if self.attention is not None and self.combine is not None:
            context, _ = self.attention(dec, outputs, mask)
            dec = torch.tanh(self.combine(torch.cat([dec, context], dim=-1)))
        logits: Tensor = self.out(self.drop(dec))
        return logits

    def forward(self, input_ids: Tensor, decoder_input_ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """Teacher-forced decoder logits ``(B, T_dec, target_vocab_size)``."""
        return self.decode(decoder_input_ids, self.encode(input_ids, attention_mask))


def build_rnn_classifier(config: RNNClassifierConfig) -> RNNClassifier:
    """Build an :class:`RNNClassifier` (registered as ``nlp.rnn_classifier``)."""
    return RNNClassifier(config)


def build_rnn_seq2seq(config: RNNSeq2SeqConfig) -> RNNSeq2Seq:
    """Build an :class:`RNNSeq2Seq` (registered as ``nlp.rnn_seq2seq``)."""
    return RNNSeq2Seq(config)


def classifier_example(config: RNNClassifierConfig) -> tuple[Tensor, Tensor]:
    """Random ids with a right-padded mask (lengths 6 and 3) for the conformance kit."""
    ids = torch.randint(1, config.vocab_size, (2, 6))
    mask = torch.tensor([[1] * 6, [1] * 3 + [0] * 3])
    return ids * mask, mask


def seq2seq_example(config: RNNSeq2SeqConfig) -> tuple[Tensor, Tensor, Tensor]:
    """Source ids, decoder inputs and a right-padded source mask for the conformance kit."""
    src = torch.randint(2, config.vocab_size, (2, 6))
    tgt = torch.randint(2, config.target_vocab_size or config.vocab_size, (2, 4))
    mask = torch.tensor([[1] * 6, [1] * 4 + [0] * 2])
    return src, tgt, mask
