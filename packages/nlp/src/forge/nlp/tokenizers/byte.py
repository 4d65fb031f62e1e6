"""A byte-level UTF-8 tokenizer: lossless for any Unicode text, no vocabulary file, no unknown token.

Text is encoded to UTF-8 and each byte is one id (0-255); special tokens take the ids after the
bytes. Decoding reverses it exactly, so ``decode(encode(s)) == s`` for every string that UTF-8 can
encode (lone surrogates cannot be, and are refused).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor

from forge.core.config import unstructure
from forge.core.data import Transform, config_from_args, decode_utf8
from forge.core.errors import DataError
from forge.nlp.tokenizers.base import encode_sample, write_manifest
from forge.nlp.tokenizers.configs import ByteTokenizerConfig

__all__ = ["BYTE_VOCAB_SIZE", "ByteTokenizer"]

BYTE_VOCAB_SIZE = 256
"""Ids below this are raw bytes."""


def _utf8_sequence_length(lead: int) -> int:
    if lead < 0x80:
        return 1
    if 0xC0 <= lead < 0xE0:
        return 2
    if 0xE0 <= lead < 0xF0:
        return 3
    if 0xF0 <= lead < 0xF8:
        return 4
    return 1  # a continuation byte standing alone: never produced from valid text


def _drop_partial_character(ids: list[int]) -> list[int]:
    """Drop a trailing incomplete UTF-8 sequence left by a cut, so the ids still decode cleanly."""
    j = len(ids) - 1
    while j >= 0 and len(ids) - j <= 4 and ids[j] < BYTE_VOCAB_SIZE and 0x80 <= ids[j] < 0xC0:
        j -= 1
    if j < 0 or ids[j] >= BYTE_VOCAB_SIZE:
        return ids
    if len(ids) - j < _utf8_sequence_length(ids[j]):
        return ids[:j]
    return ids


class ByteTokenizer(Transform):
    """Encode text to byte ids and decode them back; a serializable forge transform.

    Called on a string it returns a 1-D ``int64`` tensor of ids; called on ``(text, target)`` it
    returns ``(ids, target)``, so it drops into a dataset's transform pipeline.

    Args:
        config: The tokenizer settings; leave it out for the defaults, or pass fields as keywords.
        **params: Config fields, when ``config`` is not given.

    Raises:
        ConfigError: A parameter is unknown or invalid, or both a config and parameters are given.

    Example:
        >>> tok = ByteTokenizer(add_eos=True)
        >>> tok.encode("hé")
        [104, 195, 169, 258]
        >>> tok.decode(tok.encode("hé"))
        'hé'
    """

    name: ClassVar[str] = "nlp.byte_tokenizer"
    config_class: ClassVar[type[ByteTokenizerConfig]] = ByteTokenizerConfig

    def __init__(self, config: ByteTokenizerConfig | None = None, /, **params: Any) -> None:
        self.config: ByteTokenizerConfig = config_from_args(self.name, ByteTokenizerConfig, config, params)
        self._special_ids = {tok: BYTE_VOCAB_SIZE + i for i, tok in enumerate(self.config.special_tokens)}
        self._special_tokens = {i: tok for tok, i in self._special_ids.items()}
        # Longest first, so a special token that contains another one wins.
        ordered = sorted(self._special_ids, key=len, reverse=True)
        self._special_re = re.compile("|".join(re.escape(t) for t in ordered))

    # -- vocabulary ------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        """Number of distinct ids: 256 bytes plus the special tokens."""
        return BYTE_VOCAB_SIZE + len(self._special_ids)

    @property
    def pad_id(self) -> int:
        """Id of the padding token."""
        return self._special_ids[self.config.pad_token]

    @property
    def bos_id(self) -> int:
        """Id of the beginning-of-sequence token."""
        return self._special_ids[self.config.bos_token]

    @property
    def eos_id(self) -> int:
        """Id of the end-of-sequence token."""
        return self._special_ids[self.config.eos_token]

    @property
    def special_ids(self) -> dict[str, int]:
        """Every special token and its id."""
        return dict(self._special_ids)

    @property
    def lossless(self) -> bool:
        """Byte-level encoding round-trips every string UTF-8 can encode."""
        return True

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``forge_tokenizer.json`` (the config; bytes need no vocabulary file) into ``directory``.

        Returns:
            The folder; :func:`forge.nlp.tokenizers.load_tokenizer` reads it back.
        """
        return write_manifest(directory, self.name, unstructure(self.config))

    def token_to_id(self, token: str) -> int:
        """Id of special token ``token``.

        Raises:
            DataError: ``token`` is not one of this tokenizer's special tokens.
        """
        try:
            return self._special_ids[token]
        except KeyError:
            raise DataError(
                f"{self.name}: {token!r} is not a special token; known: {', '.join(self._special_ids)}"
            ) from None

    # -- encoding --------------------------------------------------------------------------
    def _text_ids(self, text: str) -> list[int]:
        try:
            if not self.config.parse_special:
                return list(text.encode("utf-8"))
            ids: list[int] = []
            pos = 0
            for match in self._special_re.finditer(text):
                ids.extend(text[pos : match.start()].encode("utf-8"))
                ids.append(self._special_ids[match.group()])
                pos = match.end()
            ids.extend(text[pos:].encode("utf-8"))
            return ids
        except UnicodeEncodeError as exc:
            raise DataError(
                f"{self.name}: text cannot be encoded as UTF-8 at character {exc.start} "
                f"({text[exc.start : exc.end]!r}: {exc.reason})"
            ) from None

    def encode(self, text: str) -> list[int]:
        """Encode ``text`` to ids, adding bos/eos and applying truncation and padding as configured.

        Args:
            text: Any Unicode string UTF-8 can encode.

        Returns:
            The ids.

        Raises:
            DataError: ``text`` is not a ``str``, holds a lone surrogate, or is longer than
                ``max_length`` while ``truncation`` is off.
        """
        if not isinstance(text, str):
            raise DataError(f"{self.name}: expected a str to encode, got {type(text).__name__}")
        cfg = self.config
        body = self._text_ids(text)
        if cfg.max_length is not None:
            budget = cfg.max_length - int(cfg.add_bos) - int(cfg.add_eos)
            if len(body) > budget:
                if not cfg.truncation:
                    raise DataError(
                        f"{self.name}: text encodes to {len(body)} ids, more than the {budget} that max_length "
                        f"{cfg.max_length} leaves; enable truncation or raise max_length"
                    )
                body = _drop_partial_character(body[:budget])
        ids = ([self.bos_id] if cfg.add_bos else []) + body + ([self.eos_id] if cfg.add_eos else [])
        if cfg.padding and cfg.max_length is not None:
            ids.extend([self.pad_id] * (cfg.max_length - len(ids)))
        return ids

    def encode_batch(self, texts: Sequence[str]) -> tuple[Tensor, Tensor]:
        """Encode several texts into one padded batch.

        Args:
            texts: The texts.

        Returns:
            ``(ids, attention_mask)``, both ``(len(texts), L)``: ``int64`` ids padded with the pad
            id to the longest encoding (or to ``max_length`` when padding is on), and a ``bool``
            mask that is true on real (non-padding) positions.

        Raises:
            DataError: As :meth:`encode`, naming the index of the offending text.
        """
        rows: list[list[int]] = []
        lengths: list[int] = []
        for i, text in enumerate(texts):
            try:
                ids = self.encode(text)
            except DataError as exc:
                raise DataError(f"text {i}: {exc}") from None
            rows.append(ids)
            if self.config.padding:
                real = len(ids)
                while real > 0 and ids[real - 1] == self.pad_id:
                    real -= 1
                lengths.append(real)
            else:
                lengths.append(len(ids))
        width = max((len(r) for r in rows), default=0)
        out = torch.full((len(rows), width), self.pad_id, dtype=torch.int64)
        mask = torch.zeros((len(rows), width), dtype=torch.bool)
        for i, (row, real) in enumerate(zip(rows, lengths, strict=True)):
            out[i, : len(row)] = torch.tensor(row, dtype=torch.int64)
            mask[i, :real] = True
        return out, mask

    # -- decoding --------------------------------------------------------------------------
    def decode(self, ids: Iterable[int] | Tensor, *, skip_special: bool = True) -> str:
        """Turn ids back into text.

        Args:
            ids: Ids as a sequence or a 1-D integer tensor.
            skip_special: Leave special tokens out; when false, each is written as its string.

        Returns:
            The text. Bytes that do not form valid UTF-8 (say, a sequence cut mid-character by a
            model) follow the config's ``errors`` policy.

        Raises:
            DataError: An id is outside the vocabulary (names its position), the tensor is not
                1-D, or the bytes are invalid UTF-8 under the ``"strict"`` policy.
        """
        if isinstance(ids, Tensor):
            if ids.dim() != 1 or ids.is_floating_point() or ids.is_complex():
                raise DataError(f"{self.name}: decode expects a 1-D integer tensor, got {ids.dtype} {tuple(ids.shape)}")
            values: list[int] = [int(v) for v in ids.tolist()]
        else:
            values = [int(v) for v in ids]
        parts: list[str] = []
        run = bytearray()
        for pos, value in enumerate(values):
            if 0 <= value < BYTE_VOCAB_SIZE:
                run.append(value)
                continue
            token = self._special_tokens.get(value)
            if token is None:
                raise DataError(
                    f"{self.name}: id {value} at position {pos} is outside the vocabulary 0..{self.vocab_size - 1}"
                )
            if run:
                parts.append(decode_utf8(bytes(run), errors=self.config.errors, where=self.name))
                run.clear()
            if not skip_special:
                parts.append(token)
        if run:
            parts.append(decode_utf8(bytes(run), errors=self.config.errors, where=self.name))
        return "".join(parts)

    # -- transform -------------------------------------------------------------------------
    def __call__(self, sample: Any) -> Any:
        """Encode a text sample.

        Args:
            sample: A ``str``, or a ``(text, target)`` tuple.

        Returns:
            A 1-D ``int64`` tensor of ids, or ``(ids, target)``.

        Raises:
            DataError: The sample is neither, or its text cannot be encoded.
        """
        return encode_sample(self, sample)
