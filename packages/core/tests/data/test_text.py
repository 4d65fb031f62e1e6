"""Unicode handling: UTF-8 with explicit error policy, NFC normalization, no byte/str mix-ups."""

from __future__ import annotations

import tempfile
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forge.core.data._text import NormalizeText, decode_utf8, iter_lines, normalize_text, read_text
from forge.core.errors import ConfigError, DataError

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=50)  # any scalar value but surrogates


@settings(max_examples=100, deadline=None)
@given(st.lists(TEXT.filter(lambda s: "\n" not in s and "\r" not in s), max_size=5))
def test_lines_round_trip_through_utf8_files(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.txt"
        path.write_bytes("".join(line + "\n" for line in lines).encode("utf-8"))
        got = list(iter_lines(path))
        # A line starting with U+FEFF on the first line is a BOM by definition and is dropped.
        if lines and lines[0].startswith("\ufeff"):
            lines[0] = lines[0][1:]
        assert got == lines


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_nfc_is_idempotent_and_canonically_equivalent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert unicodedata.normalize("NFD", once) == unicodedata.normalize("NFD", text)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=40))
def test_decode_policies_on_arbitrary_bytes(data: bytes) -> None:
    replaced = decode_utf8(data, errors="replace")
    assert isinstance(replaced, str)
    try:
        strict = decode_utf8(data)
    except DataError as exc:
        assert "invalid UTF-8 at byte" in str(exc)
        assert "\ufffd" in replaced
    else:
        assert strict == replaced and strict.encode("utf-8") == data


def test_strict_error_names_file_line_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("ok\ncaf\u00e9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1.txt, line 2: invalid UTF-8 at byte 3"):
        list(iter_lines(path))
    assert list(iter_lines(path, errors="replace")) == ["ok", "caf\ufffd"]


def test_read_text_strips_bom_and_normalizes(tmp_path: Path) -> None:
    path = tmp_path / "b.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "e\u0301\r\n".encode())
    assert read_text(path, normalize="NFC") == "\u00e9\r\n"
    assert list(iter_lines(path)) == ["e\u0301"]


def test_bytes_are_refused_and_unknown_policies_rejected() -> None:
    with pytest.raises(DataError, match="decode bytes"):
        normalize_text(b"abc")  # type: ignore[arg-type]  # the mix-up under test
    with pytest.raises(ConfigError):
        decode_utf8(b"", errors="surrogateescape")
    with pytest.raises(ConfigError):
        NormalizeText(NormalizeText.config_class(form="NFX"))


def test_normalize_text_transform() -> None:
    assert NormalizeText()(("e\u0301", 1)) == ("\u00e9", 1)
