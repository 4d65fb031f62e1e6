"""Tokenizers: text to integer ids and back.

Every tokenizer here implements :class:`TextTokenizer` (encode, decode, batch encode, vocabulary
size, special-token ids, save) and is a serializable forge transform. Lossless: byte, byte-level
BPE, and char over its alphabet; WordPiece normalizes text and is not. :func:`load_tokenizer`
reads back what any of them saved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core import lazy_exports

if TYPE_CHECKING:
    from forge.nlp.tokenizers.base import TextTokenizer as TextTokenizer
    from forge.nlp.tokenizers.base import load_tokenizer as load_tokenizer
    from forge.nlp.tokenizers.byte import BYTE_VOCAB_SIZE as BYTE_VOCAB_SIZE
    from forge.nlp.tokenizers.byte import ByteTokenizer as ByteTokenizer
    from forge.nlp.tokenizers.char import CharTokenizer as CharTokenizer
    from forge.nlp.tokenizers.configs import BPEOptions as BPEOptions
    from forge.nlp.tokenizers.configs import BPETokenizerConfig as BPETokenizerConfig
    from forge.nlp.tokenizers.configs import ByteTokenizerConfig as ByteTokenizerConfig
    from forge.nlp.tokenizers.configs import CharOptions as CharOptions
    from forge.nlp.tokenizers.configs import CharTokenizerConfig as CharTokenizerConfig
    from forge.nlp.tokenizers.configs import WordPieceOptions as WordPieceOptions
    from forge.nlp.tokenizers.configs import WordPieceTokenizerConfig as WordPieceTokenizerConfig
    from forge.nlp.tokenizers.trained import BPETokenizer as BPETokenizer
    from forge.nlp.tokenizers.trained import WordPieceTokenizer as WordPieceTokenizer

__getattr__, __dir__ = lazy_exports(__name__, __file__)
