"""Text classification from CSV, JSONL or ``label<TAB>text`` line files, validated row by row.

Every row is checked as it is read and a bad one is refused with a
:class:`~forge.core.errors.DataError` naming the file and line: a missing column, an empty text, a
text that is not a string (a JSON number, say), a label that is a float, NaN, a boolean, a string
where an integer is expected, negative, out of range, or not among ``label_names``; an empty file
is refused too.
"""

from __future__ import annotations

import csv
import json
import math
import random
import re
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
import torch
from torch import Tensor
from torch.utils.data import Dataset

from forge.core.data import DatasetInfo, DatasetSplits, digest, fingerprint_files
from forge.core.errors import DataError
from forge.nlp.datasets.configs import TextClassificationConfig
from forge.nlp.datasets.tokenizing import dataset_tokenizer
from forge.nlp.tokenizers.base import TextTokenizer

__all__ = [
    "LabelledText",
    "TextClassificationDataset",
    "build_text_classification",
    "read_labelled_texts",
    "resolve_data_path",
]


@attrs.frozen
class LabelledText:
    """One validated row: its text, class index, and where it came from."""

    text: str
    label: int
    where: str


def _format(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    suffix = path.suffix.lower()
    return "csv" if suffix == ".csv" else "jsonl" if suffix in (".jsonl", ".json", ".ndjson") else "lines"


def _label(value: Any, where: str, names: dict[str, int], num_classes: int | None, from_text: bool) -> int:
    """Validate one raw label; ``from_text`` when it was read as a string (CSV, lines)."""
    if names:
        if not isinstance(value, str):
            raise DataError(
                f"{where}: label {value!r} is a {type(value).__name__}; expected one of the label_names "
                f"{', '.join(names)}"
            )
        if value not in names:
            raise DataError(f"{where}: label {value!r} is not one of the label_names {', '.join(names)}")
        return names[value]
    if isinstance(value, bool):
        raise DataError(f"{where}: label {value!r} is a boolean; expected an integer class index")
    if isinstance(value, float):
        kind = "NaN" if math.isnan(value) else "a float"
        raise DataError(f"{where}: label {value!r} is {kind}; expected an integer class index")
    if isinstance(value, str):
        if not from_text:
            raise DataError(
                f"{where}: label {value!r} is a string; expected an integer class index (or give label_names)"
            )
        text = value.strip()
        try:
            number = int(text)
        except ValueError:
            try:
                as_float = float(text)
            except ValueError:
                raise DataError(
                    f"{where}: label {value!r} is not an integer; expected a class index (or give label_names)"
                ) from None
            kind = "NaN" if math.isnan(as_float) else "a float"
            raise DataError(f"{where}: label {value!r} is {kind}; expected an integer class index") from None
        value = number
    if not isinstance(value, int):
        raise DataError(f"{where}: label {value!r} is a {type(value).__name__}; expected an integer class index")
    if value < 0:
        raise DataError(f"{where}: label {value} is negative; class indices start at 0")
    if num_classes is not None and value >= num_classes:
        raise DataError(f"{where}: label {value} is out of range for {num_classes} classes (0..{num_classes - 1})")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise DataError(f"{where}: text {value!r} is a {type(value).__name__}; expected a string")
    if not value.strip():
        raise DataError(f"{where}: text is empty")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DataError(f"{where}: text holds a lone surrogate at character {exc.start}") from None
    return value


_RESOURCE = re.compile(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+):([^\\/].*)")


def resolve_data_path(path: str | Path) -> Path:
    """A file path, or a package resource written ``"package.module:relative/file"`` (the form
    recipes use to name data shipped inside a package, wherever it is installed).

    Raises:
        DataError: A resource's package cannot be imported.
    """
    text = str(path)
    match = _RESOURCE.fullmatch(text)
    if match is None or Path(text).exists():
        return Path(text)
    package, relative = match.groups()
    try:
        root = resources.files(package)
    except ModuleNotFoundError:
        raise DataError(f"{text}: no package {package!r} to read the resource {relative!r} from") from None
    return Path(str(root.joinpath(relative)))


def read_labelled_texts(
    path: str | Path,
    *,
    format: str = "auto",
    text_field: str = "text",
    label_field: str = "label",
    label_names: tuple[str, ...] = (),
    num_classes: int | None = None,
) -> list[LabelledText]:
    """Read and validate a labelled text file.

    Args:
        path: The file (UTF-8), or a package resource ``"package.module:file"``.
        format: ``"csv"``, ``"jsonl"``, ``"lines"`` (``label<TAB>text``) or ``"auto"`` (by suffix).
        text_field: CSV column / JSONL key of the text.
        label_field: CSV column / JSONL key of the label.
        label_names: Class names in index order (labels are then names); empty for integer labels.
        num_classes: Number of classes for integer labels (None: unchecked upper bound).

    Returns:
        The rows in file order.

    Raises:
        DataError: The file is missing, empty, not UTF-8, or a row is invalid (names file and line).
    """
    path = resolve_data_path(path)
    fmt = _format(path, format)
    names = {name: i for i, name in enumerate(label_names)}
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}:{bad_line}: invalid UTF-8 ({exc.reason})") from None
    rows: list[LabelledText] = []
    if fmt == "csv":
        reader = csv.reader(content.splitlines(keepends=True))
        header = next(reader, None)
        if header is None:
            raise DataError(
                f"{path}: the file is empty; expected a header row naming {text_field!r} and {label_field!r}"
            )
        for column in (text_field, label_field):
            if column not in header:
                raise DataError(f"{path}:1: no column {column!r} in the header ({', '.join(header)})")
        ti, li = header.index(text_field), header.index(label_field)
        for record in reader:
            where = f"{path}:{reader.line_num}"
            if not record:
                continue
            if len(record) != len(header):
                raise DataError(f"{where}: {len(record)} fields, the header has {len(header)}")
            label = _label(record[li], where, names, num_classes, True)
            rows.append(LabelledText(_text(record[ti], where), label, where))
    elif fmt == "jsonl":
        for number, line in enumerate(content.splitlines(), start=1):
            where = f"{path}:{number}"
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise DataError(f"{where}: not valid JSON ({exc})") from None
            if not isinstance(obj, dict):
                raise DataError(f"{where}: expected a JSON object, got {type(obj).__name__}")
            for key in (text_field, label_field):
                if key not in obj:
                    raise DataError(f"{where}: no key {key!r} (keys: {', '.join(obj)})")
            label = _label(obj[label_field], where, names, num_classes, False)
            rows.append(LabelledText(_text(obj[text_field], where), label, where))
    elif fmt == "lines":
        for number, line in enumerate(content.splitlines(), start=1):
            where = f"{path}:{number}"
            if not line.strip():
                continue
            raw_label, sep, text = line.partition("\t")
            if not sep:
                raise DataError(f"{where}: expected 'label<TAB>text'")
            rows.append(LabelledText(_text(text, where), _label(raw_label, where, names, num_classes, True), where))
    else:
        raise DataError(f"{path}: unknown format {fmt!r}; expected csv, jsonl or lines")
    if not rows:
        raise DataError(f"{path}: the file holds no rows")
    return rows


class TextClassificationDataset(Dataset[tuple[Tensor, Tensor]]):
    """Encoded labelled texts; sample ``i`` is ``(input_ids int64 (L,), label int64 ())``.

    Args:
        rows: The validated rows.
        tokenizer: Encodes the texts (once, here).
        pad_to: Pad every sample to this many ids with the pad id (None: variable lengths).
    """

    def __init__(self, rows: list[LabelledText], tokenizer: TextTokenizer, *, pad_to: int | None = None) -> None:
        self.rows = rows
        self.tokenizer = tokenizer
        texts = [r.text for r in rows]
        encode_many = getattr(tokenizer, "encode_many", None)
        encoded: list[list[int]] = (
            encode_many(texts) if encode_many is not None else [tokenizer.encode(t) for t in texts]
        )
        if pad_to is not None:
            encoded = [ids + [tokenizer.pad_id] * (pad_to - len(ids)) for ids in encoded]
        self.ids = [torch.tensor(ids, dtype=torch.int64) for ids in encoded]
        self.labels = torch.tensor([r.label for r in rows], dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        """Return ``(input_ids, label)`` of row ``index``."""
        return self.ids[index], self.labels[index]


def build_text_classification(config: TextClassificationConfig) -> DatasetSplits:
    """Build train/val/test splits of a labelled text file.

    Rows of ``path`` are shuffled from ``seed`` and the first ``test_fraction`` go to test, the
    next ``val_fraction`` to val (unless separate files are given). The tokenizer is learned on the
    training texts only.

    Raises:
        DataError: A file or row is invalid (names file and line), or a split would be empty.

    Example:
        >>> splits = build_text_classification(TextClassificationConfig(path="reviews.csv"))  # doctest: +SKIP
        >>> ids, label = splits.train[0]  # doctest: +SKIP
    """

    def read(path: str) -> list[LabelledText]:
        return read_labelled_texts(
            path,
            format=config.format,
            text_field=config.text_field,
            label_field=config.label_field,
            label_names=config.label_names,
            num_classes=config.num_classes,
        )

    main = read(config.path)
    order = list(range(len(main)))
    random.Random(config.seed).shuffle(order)
    n_test = round(len(main) * config.test_fraction) if config.test_path is None else 0
    n_val = round(len(main) * config.val_fraction) if config.val_path is None else 0
    if len(main) - n_test - n_val < 1:
        raise DataError(f"{config.path}: {len(main)} rows are too few for {n_test} test and {n_val} val rows")
    parts: dict[str, list[LabelledText]] = {
        "test": [main[i] for i in order[:n_test]],
        "val": [main[i] for i in order[n_test : n_test + n_val]],
        "train": [main[i] for i in sorted(order[n_test + n_val :])],
    }
    if config.val_path is not None:
        parts["val"] = read(config.val_path)
    if config.test_path is not None:
        parts["test"] = read(config.test_path)
    labels = [r.label for rows in parts.values() for r in rows]
    num_classes = len(config.label_names) or config.num_classes or max(labels) + 1
    tokenizer = dataset_tokenizer(config, (r.text for r in parts["train"]), max_length=config.max_length)
    pad_to = config.max_length if config.pad_to_max_length else None
    splits = {k: TextClassificationDataset(v, tokenizer, pad_to=pad_to) if v else None for k, v in parts.items()}
    files = [resolve_data_path(p) for p in (config.path, config.val_path, config.test_path) if p is not None]
    fingerprint = digest(
        {
            "files": fingerprint_files(files),
            "split": {k: [r.where for r in v] for k, v in parts.items()},
            "tokenizer": [config.tokenizer, config.vocab_size, config.min_frequency, config.tokenizer_dir],
            "max_length": config.max_length,
        }
    )
    info = DatasetInfo(
        name="nlp.text_classification",
        version="custom",
        source=str(config.path),
        fingerprint=fingerprint,
        num_classes=num_classes,
        task="text-classification",
        extra={
            "vocab_size": tokenizer.vocab_size,
            "pad_id": tokenizer.pad_id,
            "label_names": list(config.label_names),
            "sizes": {k: len(v) for k, v in parts.items()},
        },
    )
    return DatasetSplits(train=splits["train"], val=splits["val"], test=splits["test"], info=info)
