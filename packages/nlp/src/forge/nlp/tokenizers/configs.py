"""Config classes of the tokenizers (no torch import)."""

from __future__ import annotations

from typing import Any

import attrs

from forge.core.config import field

__all__ = [
    "DECODE_ERRORS",
    "BPEOptions",
    "CharOptions",
    "WordPieceOptions",
    "BPETokenizerConfig",
    "ByteTokenizerConfig",
    "CharTokenizerConfig",
    "WordPieceTokenizerConfig",
]

DECODE_ERRORS = ("strict", "replace", "ignore", "backslashreplace")
"""UTF-8 error policies :meth:`ByteTokenizer.decode` understands."""


def _items_non_empty(instance: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    # `non_empty` speaks of the list itself; an empty token or file name inside it is this rule.
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise ValueError(
                f"{attribute.name}: expected each item to be a non-empty string, got {item!r} at index {i} of "
                f"{list(value)!r}"
            )


def _check_specials(keys: str, specials: tuple[str, ...], max_length: int | None, add_bos: bool, add_eos: bool) -> None:
    dupes = sorted({t for t in specials if specials.count(t) > 1})
    if dupes:
        raise ValueError(
            f"{keys}: expected distinct special tokens, got {list(specials)!r} (repeated: {', '.join(dupes)})"
        )
    if max_length is not None and max_length <= int(add_bos) + int(add_eos):
        raise ValueError(
            f"max_length, add_bos, add_eos: max_length {max_length} leaves no room for text after bos/eos "
            f"(add_bos={add_bos}, add_eos={add_eos})"
        )


_SPECIAL_KEYS = "pad_token, bos_token, eos_token, extra_special_tokens"
_SPECIAL_KEYS_UNK = "pad_token, bos_token, eos_token, unk_token, extra_special_tokens"


@attrs.frozen
class ByteTokenizerConfig:
    """A byte-level UTF-8 tokenizer: ids 0-255 are the bytes, special tokens follow from 256.

    Special token ids are assigned in the order pad, bos, eos, then ``extra_special_tokens``.
    """

    pad_token: str = field("<pad>", help="Padding token (id 256).", non_empty=True)
    bos_token: str = field("<bos>", help="Beginning-of-sequence token (id 257).", non_empty=True)
    eos_token: str = field("<eos>", help="End-of-sequence token (id 258).", non_empty=True)
    extra_special_tokens: tuple[str, ...] = field(
        (), help="More special tokens, given ids 259 onwards in this order.", validator=_items_non_empty
    )
    add_bos: bool = field(False, help="Start every encoding with the bos token.")
    add_eos: bool = field(False, help="End every encoding with the eos token.")
    max_length: int | None = field(None, help="Most ids per encoding, special tokens included (None: unlimited).", ge=1)
    truncation: bool = field(
        True,
        help="Cut encodings longer than max_length at a UTF-8 character boundary; when false such a text is an error.",
    )
    padding: bool = field(False, help="Pad every encoding to max_length with the pad token (needs max_length).")
    parse_special: bool = field(
        False,
        help="Read special-token strings inside the text as special ids; off, they stay plain bytes, "
        "so user text cannot inject control tokens.",
    )
    errors: str = field(
        "replace",
        help="UTF-8 policy when decoded bytes are not valid UTF-8: strict, replace, ignore, backslashreplace.",
        one_of=DECODE_ERRORS,
    )

    def __attrs_post_init__(self) -> None:
        _check_specials(_SPECIAL_KEYS, self.special_tokens, self.max_length, self.add_bos, self.add_eos)
        if self.padding and self.max_length is None:
            raise ValueError("padding, max_length: padding=true needs max_length, got max_length None")

    @property
    def special_tokens(self) -> tuple[str, ...]:
        """Every special token in id order (pad, bos, eos, extras)."""
        return (self.pad_token, self.bos_token, self.eos_token, *self.extra_special_tokens)


@attrs.frozen
class _TrainedFields:
    """Fields every trained (vocabulary-learning) tokenizer shares."""

    vocab_size: int = field(1000, help="Largest vocabulary to learn, special tokens included.", ge=1)
    min_frequency: int = field(2, help="Fewest occurrences a merge or symbol needs to enter the vocabulary.", ge=1)
    pad_token: str = field("<pad>", help="Padding token (id 0).", non_empty=True)
    bos_token: str = field("<bos>", help="Beginning-of-sequence token (id 1).", non_empty=True)
    eos_token: str = field("<eos>", help="End-of-sequence token (id 2).", non_empty=True)
    extra_special_tokens: tuple[str, ...] = field(
        (), help="More special tokens, given the ids after the built-in ones in this order.", validator=_items_non_empty
    )
    add_bos: bool = field(False, help="Start every encoding with the bos token.")
    add_eos: bool = field(False, help="End every encoding with the eos token.")
    max_length: int | None = field(
        None,
        help="Most ids per encoding, special tokens included; longer encodings are cut (None: unlimited).",
        ge=1,
    )
    parse_special: bool = field(
        False,
        help="Read special-token strings inside the text as special ids; off, they are encoded as plain text, "
        "so user text cannot inject control tokens.",
    )


@attrs.frozen
class BPEOptions(_TrainedFields):
    """Byte-level BPE (GPT-2 style) learned from your own text: lossless for any Unicode text.

    Special token ids come first: pad 0, bos 1, eos 2, then ``extra_special_tokens``; the 256 byte
    symbols and the learned merges follow. No unknown token is ever needed.
    """

    def __attrs_post_init__(self) -> None:
        _check_specials(_SPECIAL_KEYS, self.special_tokens, self.max_length, self.add_bos, self.add_eos)
        if self.vocab_size < len(self.special_tokens) + 256:
            raise ValueError(
                f"vocab_size, extra_special_tokens: vocab_size {self.vocab_size} is smaller than the "
                f"{len(self.special_tokens)} special tokens plus the 256 byte symbols byte-level BPE always keeps "
                f"(expected >= {len(self.special_tokens) + 256})"
            )

    @property
    def special_tokens(self) -> tuple[str, ...]:
        """Every special token in id order (pad, bos, eos, extras)."""
        return (self.pad_token, self.bos_token, self.eos_token, *self.extra_special_tokens)


@attrs.frozen
class WordPieceOptions(_TrainedFields):
    """WordPiece (BERT style) learned from your own text. Lossy: text is normalized before splitting.

    Special token ids come first: pad 0, bos 1, eos 2, unk 3, then ``extra_special_tokens``.
    """

    unk_token: str = field(
        "<unk>", help="Token of a word that cannot be split into known pieces (id 3).", non_empty=True
    )
    lowercase: bool = field(True, help="Lowercase the text before splitting (uncased BERT).")
    strip_accents: bool = field(True, help="Remove combining accents (NFD then drop marks) before splitting.")
    continuing_prefix: str = field("##", help="Prefix of a piece that continues a word.", non_empty=True)

    def __attrs_post_init__(self) -> None:
        _check_specials(_SPECIAL_KEYS_UNK, self.special_tokens, self.max_length, self.add_bos, self.add_eos)
        if self.vocab_size <= len(self.special_tokens):
            raise ValueError(
                f"vocab_size, extra_special_tokens: vocab_size {self.vocab_size} leaves no room beside the "
                f"{len(self.special_tokens)} special tokens (expected > {len(self.special_tokens)})"
            )

    @property
    def special_tokens(self) -> tuple[str, ...]:
        """Every special token in id order (pad, bos, eos, unk, extras)."""
        return (self.pad_token, self.bos_token, self.eos_token, self.unk_token, *self.extra_special_tokens)


@attrs.frozen
class CharOptions(_TrainedFields):
    """One id per Unicode code point seen in the training text; lossless over that alphabet.

    Special token ids come first: pad 0, bos 1, eos 2, unk 3, then ``extra_special_tokens``; the
    alphabet follows, most frequent character first (ties by code point). A character outside the
    alphabet becomes the unk token, so only text over the alphabet round-trips.
    """

    unk_token: str = field("<unk>", help="Token of a character outside the alphabet (id 3).", non_empty=True)

    def __attrs_post_init__(self) -> None:
        _check_specials(_SPECIAL_KEYS_UNK, self.special_tokens, self.max_length, self.add_bos, self.add_eos)
        if self.vocab_size <= len(self.special_tokens):
            raise ValueError(
                f"vocab_size, extra_special_tokens: vocab_size {self.vocab_size} leaves no room beside the "
                f"{len(self.special_tokens)} special tokens (expected > {len(self.special_tokens)})"
            )

    @property
    def special_tokens(self) -> tuple[str, ...]:
        """Every special token in id order (pad, bos, eos, unk, extras)."""
        return (self.pad_token, self.bos_token, self.eos_token, self.unk_token, *self.extra_special_tokens)


_FILES_HELP = "Text files (or glob patterns) to learn the vocabulary from, read as UTF-8."


@attrs.frozen(kw_only=True)
class BPETokenizerConfig(BPEOptions):
    """Byte-level BPE learned from ``files`` when the transform is built (see :class:`BPEOptions`)."""

    files: tuple[str, ...] = field(help=_FILES_HELP, validator=_items_non_empty, non_empty=True)


@attrs.frozen(kw_only=True)
class WordPieceTokenizerConfig(WordPieceOptions):
    """WordPiece learned from ``files`` when the transform is built (see :class:`WordPieceOptions`)."""

    files: tuple[str, ...] = field(help=_FILES_HELP, validator=_items_non_empty, non_empty=True)


@attrs.frozen(kw_only=True)
class CharTokenizerConfig(CharOptions):
    """A character vocabulary learned from ``files`` when the transform is built (see :class:`CharOptions`)."""

    files: tuple[str, ...] = field(help=_FILES_HELP, validator=_items_non_empty, non_empty=True)
