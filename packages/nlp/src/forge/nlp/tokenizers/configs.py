"""Config classes of the tokenizers (no torch import)."""

from __future__ import annotations

from typing import Any

import attrs

from forge.core.config import field

__all__ = ["DECODE_ERRORS", "ByteTokenizerConfig"]

DECODE_ERRORS = ("strict", "replace", "ignore", "backslashreplace")
"""UTF-8 error policies :meth:`ByteTokenizer.decode` understands."""


def _token(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{attribute.name} must be a non-empty string, got {value!r}")


def _extras(instance: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for i, token in enumerate(value):
        if not isinstance(token, str) or not token:
            raise ValueError(f"{attribute.name}[{i}] must be a non-empty string, got {token!r}")


def _max_length(instance: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and value < 1:
        raise ValueError(f"{attribute.name} must be >= 1 or None, got {value!r}")


def _errors(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in DECODE_ERRORS:
        raise ValueError(f"{attribute.name} must be one of {', '.join(DECODE_ERRORS)}, got {value!r}")


@attrs.frozen
class ByteTokenizerConfig:
    """A byte-level UTF-8 tokenizer: ids 0-255 are the bytes, special tokens follow from 256.

    Special token ids are assigned in the order pad, bos, eos, then ``extra_special_tokens``.
    """

    pad_token: str = field("<pad>", help="Padding token (id 256).", validator=_token)
    bos_token: str = field("<bos>", help="Beginning-of-sequence token (id 257).", validator=_token)
    eos_token: str = field("<eos>", help="End-of-sequence token (id 258).", validator=_token)
    extra_special_tokens: tuple[str, ...] = field(
        (), help="More special tokens, given ids 259 onwards in this order.", validator=_extras
    )
    add_bos: bool = field(False, help="Start every encoding with the bos token.")
    add_eos: bool = field(False, help="End every encoding with the eos token.")
    max_length: int | None = field(
        None, help="Most ids per encoding, special tokens included (None: unlimited).", validator=_max_length
    )
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
        validator=_errors,
    )

    def __attrs_post_init__(self) -> None:
        specials = self.special_tokens
        dupes = sorted({t for t in specials if specials.count(t) > 1})
        if dupes:
            raise ValueError(f"special tokens must be distinct; repeated: {', '.join(dupes)}")
        if self.padding and self.max_length is None:
            raise ValueError("padding=true needs max_length")
        reserved = int(self.add_bos) + int(self.add_eos)
        if self.max_length is not None and self.max_length <= reserved:
            raise ValueError(f"max_length {self.max_length} leaves no room for text after bos/eos")

    @property
    def special_tokens(self) -> tuple[str, ...]:
        """Every special token in id order (pad, bos, eos, extras)."""
        return (self.pad_token, self.bos_token, self.eos_token, *self.extra_special_tokens)
