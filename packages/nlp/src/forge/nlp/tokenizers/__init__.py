"""Tokenizers: text to integer ids and back."""

from __future__ import annotations

from forge.nlp.tokenizers.byte import BYTE_VOCAB_SIZE, ByteTokenizer
from forge.nlp.tokenizers.configs import ByteTokenizerConfig

__all__ = ["BYTE_VOCAB_SIZE", "ByteTokenizer", "ByteTokenizerConfig"]
