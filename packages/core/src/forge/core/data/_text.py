"""Text as Unicode throughout: UTF-8 decoding with an explicit error policy and normalization.

Files are opened in binary and decoded here, never with the platform's locale encoding, so the same
file gives the same ``str`` on every machine. A decode error under the ``"strict"`` policy becomes a
:class:`~forge.core.errors.DataError` naming the file, line and byte offset.

Light: no torch.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal, cast

from forge.core.data._compose import Transform
from forge.core.data._configs import NormalizeTextConfig
from forge.core.errors import ConfigError, DataError

__all__ = [
    "ERROR_POLICIES",
    "NORMAL_FORMS",
    "NormalizeText",
    "decode_utf8",
    "iter_lines",
    "normalize_text",
    "read_text",
]

ErrorPolicy = Literal["strict", "replace", "ignore", "backslashreplace"]
NormalForm = Literal["NFC", "NFD", "NFKC", "NFKD"]
ERROR_POLICIES: frozenset[str] = frozenset({"strict", "replace", "ignore", "backslashreplace"})
NORMAL_FORMS: frozenset[str] = frozenset({"NFC", "NFD", "NFKC", "NFKD"})
_BOM = b"\xef\xbb\xbf"


def _check_policy(errors: str) -> None:
    if errors not in ERROR_POLICIES:
        raise ConfigError(f"unknown UTF-8 error policy {errors!r}; use one of {sorted(ERROR_POLICIES)}")


def _check_form(form: str) -> None:
    if form not in NORMAL_FORMS:
        raise ConfigError(f"unknown Unicode normalization form {form!r}; use one of {sorted(NORMAL_FORMS)}")


def normalize_text(text: str, form: str = "NFC") -> str:
    """Return ``text`` in Unicode normal form ``form``.

    Raises:
        ConfigError: For an unknown form.
        DataError: When ``text`` is not a ``str`` (bytes must be decoded first, on purpose).
    """
    _check_form(form)
    if not isinstance(text, str):
        raise DataError(f"normalize_text expects str, got {type(text).__name__}; decode bytes with decode_utf8 first")
    return unicodedata.normalize(cast(NormalForm, form), text)


def decode_utf8(data: bytes, *, errors: str = "strict", where: str = "<bytes>", line: int | None = None) -> str:
    """Decode UTF-8 bytes with an explicit error policy.

    Args:
        data: The bytes.
        errors: ``"strict"`` (raise), ``"replace"`` (U+FFFD), ``"ignore"`` or ``"backslashreplace"``.
        where: Name of the source for error messages (a file path).
        line: 1-based line number for error messages, when decoding one line.

    Returns:
        The decoded text.

    Raises:
        DataError: Under ``"strict"`` when the bytes are not valid UTF-8 (names where, line, offset).
        ConfigError: For an unknown policy.
    """
    _check_policy(errors)
    try:
        return data.decode("utf-8", errors=errors)
    except UnicodeDecodeError as exc:
        at = f"{where}" + (f", line {line}" if line is not None else "")
        raise DataError(
            f"{at}: invalid UTF-8 at byte {exc.start} ({data[exc.start : exc.end]!r}): {exc.reason}; "
            "pass errors='replace' to substitute U+FFFD"
        ) from exc


def read_text(path: str | Path, *, errors: str = "strict", normalize: str | None = None, strip_bom: bool = True) -> str:
    """Read a whole file as UTF-8 text.

    Args:
        path: The file.
        errors: UTF-8 error policy (see :func:`decode_utf8`).
        normalize: Unicode normal form to apply, or ``None``.
        strip_bom: Drop a leading UTF-8 byte order mark.

    Returns:
        The text.

    Raises:
        DataError: When the file cannot be read or (strict) is not UTF-8.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read text file {str(path)!r}: {exc}") from exc
    if strip_bom and data.startswith(_BOM):
        data = data[len(_BOM) :]
    text = decode_utf8(data, errors=errors, where=str(path))
    return text if normalize is None else normalize_text(text, normalize)


def iter_lines(
    path: str | Path, *, errors: str = "strict", normalize: str | None = None, keep_ends: bool = False
) -> Iterator[str]:
    """Yield the lines of a UTF-8 file lazily (``\\n`` separated; ``\\r\\n`` is handled too).

    Args:
        path: The file.
        errors: UTF-8 error policy (see :func:`decode_utf8`).
        normalize: Unicode normal form to apply to each line, or ``None``.
        keep_ends: Keep the line terminator.

    Yields:
        One ``str`` per line.

    Raises:
        DataError: When the file cannot be opened or a line (strict) is not UTF-8.
    """
    _check_policy(errors)
    try:
        handle = Path(path).open("rb")
    except OSError as exc:
        raise DataError(f"cannot open text file {str(path)!r}: {exc}") from exc
    with handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            if not keep_ends:
                raw = raw.rstrip(b"\r\n") if raw.endswith(b"\n") else raw
            line = decode_utf8(raw, errors=errors, where=str(path), line=number)
            yield line if normalize is None else normalize_text(line, normalize)


class NormalizeText(Transform):
    """Transform: Unicode-normalize a ``str`` sample, or the first element of a ``(text, ...)`` tuple."""

    name: ClassVar[str] = "core.normalize_text"
    config_class: ClassVar[type[NormalizeTextConfig]] = NormalizeTextConfig

    def __init__(self, config: NormalizeTextConfig | None = None) -> None:
        """Args:
        config: The normal form (NFC by default).
        """
        self.config = config or NormalizeTextConfig()
        _check_form(self.config.form)

    def __call__(self, sample: Any) -> Any:
        """Normalize ``sample`` (a str, or a tuple whose first element is the text)."""
        if isinstance(sample, tuple) and sample and isinstance(sample[0], str):
            return (normalize_text(sample[0], self.config.form), *sample[1:])
        return normalize_text(sample, self.config.form)
