"""Streaming datasets over sharded files: JSON Lines, CSV and safetensors tensor shards.

Files are read lazily, one record at a time; the shard order is permuted per epoch from the seed
(identically in every process) and records are shuffled by a bounded per-worker buffer. Sharding
across ranks and workers, and exact resume, come from
:class:`~forge.core.data._sharding.ShardedIterableDataset`: every worker scans the raw stream (raw
lines, CSV rows, row references) but parses, converts or loads only its own records.

Safetensors shards hold equal-length tensors whose first dimension is the sample axis
(``{"input": [N, ...], "target": [N]}``); a sample is one row of each, and only the rows a worker
owns are read from disk.
"""

from __future__ import annotations

import csv
import functools
import glob
import json
import math
import operator
import os
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypedDict

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from forge.core._atomic import write_bytes, write_file
from forge.core.data._compose import Compose
from forge.core.data._configs import JsonlTextConfig, PIIScrubConfig
from forge.core.data._fingerprint import fingerprint_files
from forge.core.data._pii import PIIScrubber
from forge.core.data._seeding import derive_seed
from forge.core.data._sharding import ShardedIterableDataset
from forge.core.data._text import decode_utf8, normalize_text
from forge.core.data._types import DatasetInfo, DatasetSplits
from forge.core.errors import DataError

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack is 3.11+; annotations are never evaluated

__all__ = [
    "CsvStream",
    "JsonlStream",
    "SafetensorsShardStream",
    "build_jsonl_text",
    "expand_files",
    "write_jsonl_shards",
    "write_safetensors_shards",
]


def expand_files(patterns: Iterable[str | Path]) -> list[Path]:
    """Expand files and glob patterns into a sorted, de-duplicated list of files.

    Raises:
        DataError: When a pattern matches nothing or a named file does not exist.
    """
    out: dict[str, Path] = {}
    for pattern in patterns:
        text = str(pattern)
        matches = sorted(glob.glob(text)) if glob.has_magic(text) else [text]
        if not matches:
            raise DataError(f"no file matches {text!r}")
        for match in matches:
            path = Path(match)
            if not path.is_file():
                raise DataError(f"data file {match!r} does not exist")
            out[str(path)] = path
    return [out[k] for k in sorted(out)]


class _ShardOptions(TypedDict, total=False):
    """The keywords of :class:`ShardedIterableDataset`, which every stream passes on."""

    seed: int
    shuffle_buffer: int
    rank: int
    world_size: int
    transform: Callable[[Any], Any] | None


class _StreamOptions(_ShardOptions, total=False):
    """The keywords every stream shares: :class:`_FileStream`'s on top of the sharding ones."""

    shuffle_files: bool


class _FileStream(ShardedIterableDataset[Any, Any]):
    """Shared file handling: shard list, per-epoch shard order.

    Args:
        files: Files or glob patterns.
        shuffle_files: Permute the shard order each epoch.
        **options: ``seed``, ``shuffle_buffer``, ``rank``, ``world_size``, ``transform``: see
            :class:`ShardedIterableDataset`.
    """

    def __init__(
        self,
        files: Sequence[str | Path],
        *,
        shuffle_files: bool = False,
        **options: Unpack[_ShardOptions],
    ) -> None:
        super().__init__(**options)
        self.files = expand_files(files)
        if not self.files:
            raise DataError(f"{type(self).__name__} needs at least one file")
        self.shuffle_files = shuffle_files

    def file_order(self, epoch: int) -> list[Path]:
        """The shard order of ``epoch`` (permuted from the seed when ``shuffle_files``)."""
        files = list(self.files)
        if self.shuffle_files:
            random.Random(derive_seed(self.seed, "files", epoch)).shuffle(files)
        return files


def _raise_invalid_utf8(path: Path) -> NoReturn:
    """Re-read ``path`` line by line to name the line holding invalid UTF-8, and raise DataError."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            decode_utf8(line, errors="strict", where=str(path), line=number)
    raise DataError(f"{path}: invalid UTF-8")  # a chunk boundary split the bad bytes; no line to name


_JSON = json.JSONDecoder()


class JsonlStream(_FileStream):
    """Stream JSON objects from JSON Lines shards (UTF-8, one object per line; blank lines skipped).

    Args:
        files: Files or glob patterns.
        keys: A sequence makes a sample the tuple of these keys' values (``("text", "label")``);
            a single string makes it that key's value; ``None`` gives the decoded dict.
        errors: UTF-8 error policy (``"strict"`` raises naming the file and line).
        normalize: Unicode normal form applied to every string value (top level), or ``None``.
        check: Called with each record; a returned text is the record's schema violation, raised
            as a DataError naming the file and line (picklable, so it reaches workers).
        shuffle_files: Permute the shard order each epoch.
        seed, shuffle_buffer, rank, world_size, transform: See :class:`ShardedIterableDataset`.

    Raises:
        DataError: When no file matches, or (while iterating) a line is not valid UTF-8 or JSON,
            or lacks a key.
    """

    def __init__(
        self,
        files: Sequence[str | Path],
        *,
        keys: Sequence[str] | str | None = None,
        errors: str = "strict",
        normalize: str | None = None,
        check: Callable[[dict[str, Any]], str | None] | None = None,
        **options: Unpack[_StreamOptions],
    ) -> None:
        super().__init__(files, **options)
        self.check = check
        self.keys: tuple[str, ...] | str | None = keys if keys is None or isinstance(keys, str) else tuple(keys)
        # itemgetter builds the sample in C; one key gives the value, several a tuple
        if isinstance(self.keys, tuple) and len(self.keys) == 1:
            key = self.keys[0]
            self._pick: Callable[[dict[str, Any]], Any] = lambda record: (record[key],)
        elif self.keys is not None:
            self._pick = (
                operator.itemgetter(*self.keys) if isinstance(self.keys, tuple) else operator.itemgetter(self.keys)
            )
        decode_utf8(b"", errors=errors)  # validates the policy now rather than mid-epoch
        self.errors = errors
        if normalize is not None:
            normalize_text("", normalize)
        self.normalize = normalize

    def raw_records(self, epoch: int) -> Iterator[tuple[str, int, str]]:
        """Yield ``(file, line number, line text)`` for every non-blank line (a leading BOM dropped)."""
        for path in self.file_order(epoch):
            name = str(path)
            try:
                # text mode decodes in C a buffer at a time, much cheaper than a bytes.decode per line
                handle = path.open(encoding="utf-8-sig", errors=self.errors, newline="\n")
            except OSError as exc:
                raise DataError(f"cannot open {name!r}: {exc}") from exc
            with handle:
                try:
                    for number, line in enumerate(handle, start=1):
                        if not line.isspace():  # skips blank lines (iteration never yields "")
                            yield name, number, line
                except UnicodeDecodeError:
                    _raise_invalid_utf8(path)

    def decode(self, raw: tuple[str, int, str]) -> Any:
        """Parse one line into a dict (or a tuple of :attr:`keys`)."""
        path, number, text = raw
        # raw_decode skips decode's two whitespace regexes (half the cost of a short record); only a
        # line it cannot take whole (leading blanks, errors) goes through decode, for its message
        try:
            record, end = _JSON.raw_decode(text)
            whole = end == len(text) or text[end:].isspace()
        except json.JSONDecodeError:
            whole = False
        if not whole:
            try:
                record = _JSON.decode(text)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}, line {number}: invalid JSON: {exc.msg} at column {exc.colno}") from exc
        if not isinstance(record, dict):
            raise DataError(f"{path}, line {number}: expected a JSON object, got {type(record).__name__}")
        if self.check is not None:
            problem = self.check(record)
            if problem is not None:
                raise DataError(f"{path}, line {number}: {problem}")
        if self.normalize is not None:
            record = {k: normalize_text(v, self.normalize) if isinstance(v, str) else v for k, v in record.items()}
        keys = self.keys
        if keys is None:
            return record
        try:
            return self._pick(record)
        except KeyError:
            wanted = (keys,) if isinstance(keys, str) else (keys or ())
            missing = [k for k in wanted if k not in record]
            raise DataError(f"{path}, line {number}: missing key(s) {missing}") from None


_CONVERTERS: Mapping[str, Callable[[str], Any]] = {"float": float, "int": int, "str": str}


class LabelledTextCheck:
    """The schema of a text-classification record: a string text and an integer class label.

    Args:
        text_key: The key of the text (a JSON string).
        label_key: The key of the label (a JSON integer in ``[0, num_classes)``), or None.
        num_classes: The number of classes, when known.
    """

    def __init__(self, text_key: str, label_key: str | None, num_classes: int | None) -> None:
        self.text_key = text_key
        self.label_key = label_key
        self.num_classes = num_classes

    def __call__(self, record: dict[str, Any]) -> str | None:
        """What is wrong with ``record`` (naming the key and the config key to set), or None."""
        text = record.get(self.text_key)
        if self.text_key in record and not isinstance(text, str):
            return f"{self.text_key!r}: expected a JSON string, got {type(text).__name__} {text!r}"
        if self.label_key is None or self.label_key not in record:
            return None  # a missing key is reported by the stream, naming every missing key
        label = record[self.label_key]
        if isinstance(label, bool) or not isinstance(label, int):
            shown = f"{type(label).__name__} {label!r}"
            return f"{self.label_key!r}: expected an integer class index, got {shown}"
        if label < 0:
            return f"{self.label_key!r}: expected a class index >= 0, got {label}"
        if self.num_classes is not None and label >= self.num_classes:
            return (
                f"{self.label_key!r}: class index {label} is out of range for data.num_classes={self.num_classes} "
                f"(labels 0..{self.num_classes - 1}); set data.num_classes to the number of classes"
            )
        return None


def _check_not_empty(files: Sequence[Path]) -> None:
    for path in files:
        try:
            with path.open("rb") as handle:
                if not any(line.strip() for line in handle):
                    raise DataError(f"{path}: empty (no JSON lines); a shard needs at least one record")
        except OSError as exc:
            raise DataError(f"cannot open {str(path)!r}: {exc}") from exc


class CsvStream(_FileStream):
    """Stream rows of CSV shards with a header row, converting declared columns.

    Args:
        files: Files or glob patterns; each starts with the same header.
        columns: Column name -> ``"float"``, ``"int"`` or ``"str"``; a sample is the tuple of these
            columns in this order.
        errors: UTF-8 error policy.
        shuffle_files, seed, shuffle_buffer, rank, world_size, transform: As for :class:`JsonlStream`.

    Raises:
        DataError: When no file matches or a column type is unknown; while iterating, when a header
            lacks a column or a value does not convert (naming file, row and column).
    """

    def __init__(
        self,
        files: Sequence[str | Path],
        *,
        columns: Mapping[str, str],
        errors: str = "strict",
        **options: Unpack[_StreamOptions],
    ) -> None:
        super().__init__(files, **options)
        bad = {c: t for c, t in columns.items() if t not in _CONVERTERS}
        if bad:
            raise DataError(f"unknown CSV column type(s) {bad}; use float, int or str")
        decode_utf8(b"", errors=errors)
        self.columns = dict(columns)
        self.errors = errors

    def raw_records(self, epoch: int) -> Iterator[tuple[str, int, list[str], list[int]]]:
        """Yield ``(file, row number, raw fields, positions of the declared columns)``, reading lazily."""
        for path in self.file_order(epoch):
            name = str(path)
            try:
                handle = path.open(encoding="utf-8-sig", errors=self.errors, newline="")
            except OSError as exc:
                raise DataError(f"cannot open {name!r}: {exc}") from exc
            with handle:
                # strict: a quote left open is an error at its line, not a row swallowing the file
                reader = csv.reader(handle, strict=True)
                number = 1
                try:
                    header = next(reader, None)
                    if header is None:
                        raise DataError(f"{path}: the file is empty; a CSV shard needs a header row")
                    missing = [c for c in self.columns if c not in header]
                    if missing:
                        raise DataError(f"{path}: header lacks column(s) {missing} (has {header})")
                    positions = [header.index(c) for c in self.columns]
                    number = reader.line_num + 1
                    for row in reader:
                        if row and len(row) != len(header):
                            raise DataError(
                                f"{path}, row {number}: {len(row)} field(s), the header has {len(header)}; "
                                "a field holding the delimiter must be quoted"
                            )
                        if row:
                            yield name, number, row, positions
                        number = reader.line_num + 1
                except UnicodeDecodeError:
                    _raise_invalid_utf8(path)
                except csv.Error as exc:
                    raise DataError(f"{path}, row {number}: malformed CSV ({exc}); is a quote left open?") from None

    def decode(self, raw: tuple[str, int, list[str], list[int]]) -> tuple[Any, ...]:
        """Convert the declared columns of one row."""
        path, number, row, positions = raw
        out: list[Any] = []
        for (name, kind), position in zip(self.columns.items(), positions, strict=True):
            try:
                value = _CONVERTERS[kind](row[position])
            except (ValueError, IndexError) as exc:
                raise DataError(f"{path}, row {number}, column {name!r}: cannot read as {kind}: {exc}") from exc
            if kind == "float" and not math.isfinite(value):
                raise DataError(
                    f"{path}, row {number}, column {name!r}: {row[position]!r} is not a finite number "
                    "(too large or infinite)"
                )
            out.append(value)
        return tuple(out)


class SafetensorsShardStream(_FileStream):
    """Stream rows of safetensors shards; only owned rows are loaded from disk.

    Args:
        files: Shard files or glob patterns.
        keys: Tensor names; a sample is the tuple of row ``i`` of each (in this order).
        shuffle_files, seed, shuffle_buffer, rank, world_size, transform: As for :class:`JsonlStream`.

    Raises:
        DataError: When no file matches; while iterating, when a shard lacks a key or its tensors
            disagree on the number of rows.
    """

    def __init__(
        self,
        files: Sequence[str | Path],
        *,
        keys: Sequence[str] = ("input", "target"),
        **options: Unpack[_StreamOptions],
    ) -> None:
        super().__init__(files, **options)
        self.keys = tuple(keys)
        self._handles: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        # Open file handles cannot travel to spawned workers; each process reopens its own.
        state = dict(self.__dict__)
        state["_handles"] = {}
        return state

    def _open(self, path: str) -> Any:
        handle = self._handles.get(path)
        if handle is None:
            try:
                handle = safe_open(path, framework="pt")
            except Exception as exc:  # safetensors raises its own error types for corrupt headers
                raise DataError(f"cannot open safetensors shard {path!r}: {exc}") from exc
            self._handles[path] = handle
        return handle

    def rows(self, path: str) -> int:
        """Number of rows in a shard (read from the header only).

        Raises:
            DataError: When a key is missing or the tensors' first dimensions differ.
        """
        handle = self._open(path)
        names = set(handle.keys())
        missing = [k for k in self.keys if k not in names]
        if missing:
            raise DataError(f"shard {path!r} lacks tensor(s) {missing} (has {sorted(names)})")
        lengths = {k: handle.get_slice(k).get_shape()[0] for k in self.keys}
        if len(set(lengths.values())) != 1:
            raise DataError(f"shard {path!r}: tensors have different numbers of rows {lengths}")
        return int(next(iter(lengths.values())))

    def raw_records(self, epoch: int) -> Iterator[tuple[str, int]]:
        """Yield ``(shard path, row)`` references; no tensor data is read."""
        for path in self.file_order(epoch):
            name = str(path)
            for row in range(self.rows(name)):
                yield name, row

    def decode(self, raw: tuple[str, int]) -> tuple[torch.Tensor, ...]:
        """Load row ``row`` of each key from the shard."""
        path, row = raw
        handle = self._open(path)
        return tuple(handle.get_slice(k)[row : row + 1][0] for k in self.keys)


def write_jsonl_shards(
    records: Iterable[Mapping[str, Any]], folder: str | Path, *, shard_size: int, prefix: str = "shard"
) -> list[Path]:
    """Write records as UTF-8 JSON Lines shards of at most ``shard_size`` lines (atomically each).

    Returns:
        The shard paths in order.

    Raises:
        DataError: For ``shard_size < 1``.
    """
    if shard_size < 1:
        raise DataError(f"shard_size must be >= 1, got {shard_size}")
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    lines: list[str] = []

    def flush() -> None:
        paths.append(write_bytes(root / f"{prefix}-{len(paths):05d}.jsonl", "".join(lines).encode("utf-8")))
        lines.clear()

    for record in records:
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        if len(lines) == shard_size:
            flush()
    if lines:
        flush()
    return paths


def write_safetensors_shards(
    tensors: Mapping[str, torch.Tensor], folder: str | Path, *, shard_size: int, prefix: str = "shard"
) -> list[Path]:
    """Split equal-length tensors along dim 0 into safetensors shards (atomically each).

    Returns:
        The shard paths in order.

    Raises:
        DataError: When the tensors' first dimensions differ or ``shard_size < 1``.
    """
    if shard_size < 1:
        raise DataError(f"shard_size must be >= 1, got {shard_size}")
    lengths = {k: int(v.shape[0]) for k, v in tensors.items()}
    if len(set(lengths.values())) != 1:
        raise DataError(f"tensors to shard have different lengths {lengths}")
    total = next(iter(lengths.values()))
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for start in range(0, total, shard_size):
        chunk = {k: v[start : start + shard_size].contiguous() for k, v in tensors.items()}
        paths.append(write_file(root / f"{prefix}-{len(paths):05d}.safetensors", functools.partial(save_file, chunk)))
    return paths


def build_jsonl_text(config: JsonlTextConfig) -> DatasetSplits:
    """Build streaming text splits from JSON Lines shards: samples are ``(text, label)`` (or text).

    The train split permutes shard order per epoch and uses the bounded shuffle buffer; val and
    test stream in order. Texts are Unicode-normalized and optionally PII-scrubbed before anything
    else sees them.

    Raises:
        DataError: When the train split names no files or a pattern matches nothing.
    """
    if not config.train:
        raise DataError("jsonl_text: config.train names no files")
    keys: str | tuple[str, str] = config.text_key if config.label_key is None else (config.text_key, config.label_key)
    transforms: list[Callable[[Any], Any]] = []
    if config.scrub_pii:
        transforms.append(PIIScrubber(PIIScrubConfig()))
    transform = Compose(transforms) if transforms else None

    def stream(files: list[str], train: bool) -> JsonlStream | None:
        if not files:
            return None
        return JsonlStream(
            files,
            keys=keys,
            errors=config.encoding_errors,
            normalize=config.normalize,
            shuffle_files=train,
            seed=config.seed,
            shuffle_buffer=config.shuffle_buffer if train else 0,
            transform=transform,
            check=LabelledTextCheck(config.text_key, config.label_key, config.num_classes),
        )

    splits = {"train": stream(config.train, True), "val": stream(config.val, False), "test": stream(config.test, False)}
    every = [f for s in splits.values() if s is not None for f in s.files]
    _check_not_empty(every)
    root = os.path.commonpath([str(f.resolve().parent) for f in every])
    info = DatasetInfo(
        name=config.name,
        source=root,
        license=config.license,
        fingerprint=fingerprint_files([f.resolve() for f in every], root=root),
        num_classes=config.num_classes,
        task="text-classification" if config.label_key is not None else "language-modeling",
        extra={
            "files": {k: [str(f) for f in s.files] for k, s in splits.items() if s is not None},
            "pipeline": None if transform is None else transform.to_config(),
        },
    )
    return DatasetSplits(train=splits["train"], val=splits["val"], test=splits["test"], info=info)
