"""Tokenizers: text to integer ids and back.

Every tokenizer here implements :class:`TextTokenizer` (encode, decode, batch encode, vocabulary
size, special-token ids, save) and is a serializable forge transform. Lossless: byte, byte-level
BPE, and char over its alphabet; WordPiece normalizes text and is not. :func:`load_tokenizer`
reads back what any of them saved.
"""

from __future__ import annotations

from forge.nlp.tokenizers.base import TextTokenizer, load_tokenizer
from forge.nlp.tokenizers.byte import BYTE_VOCAB_SIZE, ByteTokenizer
from forge.nlp.tokenizers.char import CharTokenizer
from forge.nlp.tokenizers.configs import (
    BPEOptions,
    BPETokenizerConfig,
    ByteTokenizerConfig,
    CharOptions,
    CharTokenizerConfig,
    WordPieceOptions,
    WordPieceTokenizerConfig,
)
from forge.nlp.tokenizers.trained import BPETokenizer, WordPieceTokenizer

__all__ = [
    "BYTE_VOCAB_SIZE",
    "BPEOptions",
    "BPETokenizer",
    "BPETokenizerConfig",
    "ByteTokenizer",
    "ByteTokenizerConfig",
    "CharOptions",
    "CharTokenizer",
    "CharTokenizerConfig",
    "TextTokenizer",
    "WordPieceOptions",
    "WordPieceTokenizer",
    "WordPieceTokenizerConfig",
    "load_tokenizer",
]
