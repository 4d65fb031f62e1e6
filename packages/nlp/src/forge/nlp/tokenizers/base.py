"""What every forge-nlp tokenizer offers, and the pieces they share.

:class:`TextTokenizer` is the typed interface: ``encode``/``decode``/``encode_batch``,
``vocab_size``, the special-token ids and ``save``. :func:`load_tokenizer` reads back any tokenizer
written by ``save`` (a folder holding ``forge_tokenizer.json`` and, for learned vocabularies, a
``tokenizer.json``), so a run directory can carry the exact tokenizer its model was trained with.

Which tokenizers are lossless (``decode(encode(text)) == text``):

- byte (:class:`~forge.nlp.tokenizers.ByteTokenizer`): every string UTF-8 can encode;
- byte-level BPE (:class:`~forge.nlp.tokenizers.BPETokenizer`): every string UTF-8 can encode;
- char (:class:`~forge.nlp.tokenizers.CharTokenizer`): strings over its learned alphabet only;
- WordPiece (:class:`~forge.nlp.tokenizers.WordPieceTokenizer`): **not lossless**; it lowercases,
  strips accents, and normalizes whitespace and punctuation spacing, and unknown words become unk.

Every tokenizer refuses text holding lone surrogates (which no UTF-8 text can contain) with a
:class:`~forge.core.errors.DataError` naming the character position.
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from forge.core.errors import DataError

if TYPE_CHECKING:
    from torch import Tensor

__all__ = [
    "MANIFEST",
    "TextTokenizer",
    "check_text",
    "encode_sample",
    "expand_text_files",
    "iter_file_lines",
    "load_tokenizer",
    "pad_rows",
    "read_manifest",
    "write_manifest",
]

MANIFEST = "forge_tokenizer.json"
"""Name of the file ``save`` writes in its folder: the tokenizer's registry name and settings."""


@runtime_checkable
class TextTokenizer(Protocol):
    """The interface every forge-nlp tokenizer implements."""

    @property
    def name(self) -> str:
        """The registry name (``"nlp.bpe_tokenizer"``)."""
        ...

    @property
    def vocab_size(self) -> int:
        """Number of distinct ids (special tokens included); ids lie in ``[0, vocab_size)``."""
        ...

    @property
    def pad_id(self) -> int:
        """Id of the padding token."""
        ...

    @property
    def bos_id(self) -> int:
        """Id of the beginning-of-sequence token."""
        ...

    @property
    def eos_id(self) -> int:
        """Id of the end-of-sequence token."""
        ...

    @property
    def special_ids(self) -> Mapping[str, int]:
        """Every special token and its id."""
        ...

    @property
    def lossless(self) -> bool:
        """Whether ``decode(encode(text)) == text`` for every text this tokenizer accepts."""
        ...

    def encode(self, text: str) -> list[int]:
        """Encode one text to ids."""
        ...

    def encode_batch(self, texts: Sequence[str]) -> tuple[Tensor, Tensor]:
        """Encode texts into ``(ids, attention_mask)`` padded to the longest."""
        ...

    def decode(self, ids: Iterable[int] | Tensor, *, skip_special: bool = True) -> str:
        """Turn ids back into text."""
        ...

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the tokenizer into ``directory``; :func:`load_tokenizer` reads it back."""
        ...


def check_text(text: object, where: str) -> str:
    """Return ``text`` if it is a ``str`` UTF-8 can encode.

    Raises:
        DataError: ``text`` is not a string, or holds a lone surrogate (names its position).
    """
    if not isinstance(text, str):
        raise DataError(f"{where}: expected a str to encode, got {type(text).__name__}")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise DataError(
                f"{where}: text cannot be encoded as UTF-8 at character {exc.start} "
                f"({text[exc.start : exc.end]!r}: {exc.reason}); lone surrogates are not text"
            ) from None
    return text


def encode_sample(tokenizer: TextTokenizer, sample: Any) -> Any:
    """A text sample as a tokenizer transform returns it: a ``str`` becomes a 1-D ``int64`` tensor of
    ids, a ``(text, target)`` tuple becomes ``(ids, target)``.

    Raises:
        DataError: The sample is neither, or its text cannot be encoded.
    """
    import torch

    if isinstance(sample, str):
        return torch.tensor(tokenizer.encode(sample), dtype=torch.int64)
    if isinstance(sample, tuple) and len(sample) == 2 and isinstance(sample[0], str):
        return torch.tensor(tokenizer.encode(sample[0]), dtype=torch.int64), sample[1]
    raise DataError(f"{tokenizer.name}: expected a str or a (text, target) tuple, got {type(sample).__name__}")


def pad_rows(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[Tensor, Tensor]:
    """Pad id lists to the longest: ``(int64 ids, bool mask true on real positions)``."""
    import torch

    width = max((len(r) for r in rows), default=0)
    out = torch.full((len(rows), width), pad_id, dtype=torch.int64)
    mask = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, row in enumerate(rows):
        if row:
            out[i, : len(row)] = torch.as_tensor(list(row), dtype=torch.int64)
            mask[i, : len(row)] = True
    return out, mask


def expand_text_files(patterns: Iterable[str | os.PathLike[str]], where: str) -> list[Path]:
    """Expand files and glob patterns (``**`` recurses) into a sorted, de-duplicated file list.

    Raises:
        DataError: A pattern matches no file.
    """
    found: list[Path] = []
    for pattern in patterns:
        text = os.fspath(pattern)
        matches = sorted(glob.glob(text, recursive=True)) if glob.has_magic(text) else [text]
        files = [Path(m) for m in matches if Path(m).is_file()]
        if not files:
            raise DataError(f"{where}: {text!r} matches no file")
        found.extend(files)
    return list(dict.fromkeys(found))


def iter_file_lines(files: Sequence[Path], where: str) -> Iterator[str]:
    """Yield the lines of UTF-8 text files (line endings removed).

    Raises:
        DataError: A file is not valid UTF-8 (names the file and line) or cannot be read.
    """
    for path in files:
        try:
            with path.open("rb") as handle:
                for number, raw in enumerate(handle, start=1):
                    try:
                        yield raw.decode("utf-8").rstrip("\r\n")
                    except UnicodeDecodeError as exc:
                        raise DataError(f"{where}: {path}:{number}: invalid UTF-8 ({exc.reason})") from None
        except OSError as exc:
            raise DataError(f"{where}: cannot read {path}: {exc.strerror}") from None


def write_manifest(directory: str | os.PathLike[str], name: str, params: Mapping[str, Any]) -> Path:
    """Write ``forge_tokenizer.json`` (``{"name", "params"}``) into ``directory`` (created if needed)."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MANIFEST
    tmp = folder / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps({"name": name, "params": dict(params)}, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
    return folder


def read_manifest(directory: str | os.PathLike[str]) -> tuple[str, dict[str, Any]]:
    """Read ``forge_tokenizer.json`` from ``directory``.

    Raises:
        DataError: The file is missing or malformed (names it).
    """
    path = Path(directory) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{directory}: no {MANIFEST}; not a folder written by a forge tokenizer's save()") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the tokenizer manifest: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not isinstance(data.get("params"), dict):
        raise DataError(f"{path}: expected an object with a string 'name' and an object 'params'")
    return data["name"], data["params"]


def load_tokenizer(directory: str | os.PathLike[str]) -> TextTokenizer:
    """Load a tokenizer written by any forge-nlp tokenizer's ``save``.

    Args:
        directory: The folder ``save`` wrote.

    Returns:
        The tokenizer, encoding exactly as the saved one did.

    Raises:
        DataError: The folder holds no tokenizer, or a file in it is malformed.

    Example:
        >>> tok.save(run_dir / "tokenizer")  # doctest: +SKIP
        >>> load_tokenizer(run_dir / "tokenizer").encode("hi") == tok.encode("hi")  # doctest: +SKIP
        True
    """
    name, params = read_manifest(directory)
    if name == "nlp.byte_tokenizer":
        from forge.core.config import structure
        from forge.nlp.tokenizers.byte import ByteTokenizer
        from forge.nlp.tokenizers.configs import ByteTokenizerConfig

        return ByteTokenizer(structure(params, ByteTokenizerConfig, where=f"{directory}/{MANIFEST}"))
    if name == "nlp.char_tokenizer":
        from forge.nlp.tokenizers.char import CharTokenizer

        return CharTokenizer.load(directory)
    if name in ("nlp.bpe_tokenizer", "nlp.wordpiece_tokenizer"):
        from forge.nlp.tokenizers.trained import BPETokenizer, WordPieceTokenizer

        cls = BPETokenizer if name == "nlp.bpe_tokenizer" else WordPieceTokenizer
        return cls.load(directory)
    raise DataError(f"{directory}/{MANIFEST}: unknown tokenizer {name!r}")
