"""Tabular data: CSV or Parquet to tensors with declared column types.

Columns are declared, never guessed: numeric columns are standardized and categorical columns are
encoded with statistics and vocabularies fitted on the *training split only* (fitting them on all
rows would leak validation and test information into training). Unknown categories at evaluation
time map to a reserved index 0; missing numeric values become the training mean (0 after
standardization). The fitted state is plain JSON (:meth:`TabularPreprocessor.to_dict`) and goes into
the dataset's lineage.

Parquet needs pyarrow (``pip install forge-core[parquet]``); it is imported only when a Parquet
file is read.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from forge.core.data._configs import TabularConfig
from forge.core.data._fingerprint import fingerprint_files
from forge.core.data._schema import Schema, TensorSpec
from forge.core.data._types import DatasetInfo, DatasetSplits
from forge.core.errors import DataError

__all__ = ["TabularDataset", "TabularPreprocessor", "build_tabular", "read_table"]

_UNKNOWN = "<unk>"


def read_table(
    path: str | Path,
    *,
    numeric: Sequence[str] = (),
    categorical: Sequence[str] = (),
    target: str | None = None,
    encoding: str = "utf-8",
    numeric_target: bool = False,
) -> pd.DataFrame:
    """Read a CSV or Parquet file, with categorical columns read as strings, and check it.

    A CSV file is checked as text first, so every problem names the file and its line: bytes that
    are not ``encoding`` (and the ``data.encoding`` to pass), an empty file, a row with more or
    fewer fields than the header, a quote left open. Numeric columns must hold finite numbers
    (an empty cell is a missing value); the target column must have no empty cell.

    Args:
        path: ``.csv`` or ``.parquet`` file.
        numeric: Numeric columns (read as floats).
        categorical: Categorical columns (read as strings, so ``"007"`` stays ``"007"``).
        target: The target column, checked to be present and never empty.
        encoding: Text encoding of a CSV file (a Python codec name).
        numeric_target: The target holds numbers (regression): checked as a numeric column.

    Returns:
        The table.

    Raises:
        DataError: naming the file, and the line and column where the problem is.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"table file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    lines: list[int] | None = None
    if suffix == ".csv":
        text = _read_csv_text(path, encoding)
        lines = _check_csv_rows(path, text)
        # Numeric columns are read as text too, so a bad cell is shown as written ("1e400", "abc").
        dtypes: dict[str, Any] = {c: "string" for c in (*categorical, *numeric)}
        if target is not None:
            dtypes.setdefault(target, "string")
        try:
            frame = pd.read_csv(io.StringIO(text), dtype=dtypes, keep_default_na=True)
        except (ValueError, pd.errors.ParserError) as exc:  # what the row check above did not foresee
            raise DataError(f"{path}: not a readable CSV table: {exc}") from None
    elif suffix in (".parquet", ".pq"):
        try:
            import pyarrow  # noqa: F401  # only to give a clear error when it is missing
        except ImportError as exc:
            raise DataError(f"reading {str(path)!r} needs pyarrow: pip install 'forge-core[parquet]'") from exc
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow's own error types: all mean "not a readable Parquet file"
            raise DataError(f"{path}: not a readable Parquet file: {exc}") from None
        for column in categorical:
            if column in frame:
                frame[column] = frame[column].astype("string")
    else:
        raise DataError(f"unknown table format {suffix!r} for {str(path)!r}: use .csv or .parquet")

    def at(i: int) -> str:  # where row i of the frame is: the file's line, or the row number
        return f"{path}:{lines[i]}" if lines is not None else f"{path}: row {i + 1}"

    columns = [*numeric, *categorical, *([target] if target is not None else [])]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{str(path)!r} lacks declared column(s) {missing} (has {list(frame.columns)}); "
            "set data.numeric, data.categorical and data.target to columns of the file"
        )
    numbers = [*numeric, *([target] if target is not None and numeric_target else [])]
    for column in numbers:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = frame[column].notna() & values.isna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{at(i)}: numeric column {column!r} holds non-number {frame[column].iloc[i]!r}; "
                "fix the cell, or list the column in data.categorical instead of data.numeric"
            )
        floats = pd.Series(values.to_numpy(dtype="float64", na_value=np.nan), index=frame.index)
        infinite = np.isinf(floats.to_numpy())
        if infinite.any():
            i = int(np.flatnonzero(infinite)[0])
            raise DataError(
                f"{at(i)}: numeric column {column!r} holds {frame[column].iloc[i]!r}, which is not a "
                "finite number (too large or infinite); fix the cell or leave it empty (a missing value)"
            )
        frame[column] = floats
    if target is not None:
        empty = (
            frame[target].isna().to_numpy()
            | (frame[target].astype("string").str.strip() == "").fillna(False).to_numpy()
        )
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise DataError(
                f"{at(i)}: the target column {target!r} is empty; every row needs a target "
                "(fill or drop the row, or set data.target to another column)"
            )
    return frame


def _read_csv_text(path: Path, encoding: str) -> str:
    data = path.read_bytes()
    try:
        text = data.decode(encoding)
    except LookupError:
        raise DataError(
            f"{path}: unknown text encoding {encoding!r} (data.encoding): use a Python codec name"
        ) from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DataError(
            f"{path}:{line}:{column}: byte 0x{data[exc.start]:02x} is not {encoding} text; if the file is in another "
            'encoding, pass it: data.encoding = "latin-1" (or cp1252, utf-16, ...)'
        ) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise DataError(f"{path}: the file is empty; a CSV table needs a header row and at least one data row")
    return text


def _check_csv_rows(path: Path, text: str) -> list[int]:
    """Check every row has the header's field count and no quote is left open; return each data row's line."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        header = next(reader)
        width = len(header)
        names = [h.strip() for h in header]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise DataError(f"{path}:1: the header repeats column name(s) {duplicated}")
        lines: list[int] = []
        start = reader.line_num + 1
        for row in reader:
            if row and len(row) != width:
                raise DataError(
                    f"{path}:{start}: row has {len(row)} field(s), the header has {width}; "
                    "a field holding the delimiter must be quoted"
                )
            if row:
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(f"{path}:{start}: malformed CSV ({exc}); is a quote left open?") from None
    if not lines:
        raise DataError(f"{path}: the table has a header but no data rows")
    return lines


class TabularPreprocessor:
    """Fits standardization and categorical vocabularies on training rows; turns frames into tensors.

    Args:
        numeric: Numeric feature columns.
        categorical: Categorical feature columns.
        target: Target column.
        task: ``"tabular-classification"`` (targets become class indices) or ``"tabular-regression"``.
        encoding: ``"onehot"`` (inputs are one float tensor) or ``"index"`` (inputs are a dict of a
            float ``"numeric"`` tensor and a long ``"categorical"`` tensor).

    Raises:
        DataError: For an unknown task or encoding, or no feature columns.
    """

    def __init__(
        self,
        *,
        numeric: Sequence[str],
        categorical: Sequence[str],
        target: str,
        task: str = "tabular-classification",
        encoding: str = "onehot",
    ) -> None:
        if task not in ("tabular-classification", "tabular-regression"):
            raise DataError(f"unknown tabular task {task!r}: use tabular-classification or tabular-regression")
        if encoding not in ("onehot", "index"):
            raise DataError(f"unknown categorical encoding {encoding!r}: use onehot or index")
        if not numeric and not categorical:
            raise DataError("a tabular dataset needs at least one numeric or categorical column")
        self.numeric = list(numeric)
        self.categorical = list(categorical)
        self.target = target
        self.task = task
        self.encoding = encoding
        self.means: dict[str, float] = {}
        self.stds: dict[str, float] = {}
        self.vocab: dict[str, list[str]] = {}
        self.classes: list[str] = []

    @property
    def fitted(self) -> bool:
        """Whether :meth:`fit` (or :meth:`from_dict`) has run."""
        return bool(self.means or self.vocab)

    def fit(self, train: pd.DataFrame) -> TabularPreprocessor:
        """Fit statistics and vocabularies on the training rows only; returns ``self``.

        Raises:
            DataError: When the training frame is empty.
        """
        if len(train) == 0:
            raise DataError("cannot fit tabular preprocessing on an empty training split")
        for column in self.numeric:
            values = train[column].astype("float64")
            mean = float(values.mean()) if values.notna().any() else 0.0
            std = float(values.std(ddof=0)) if values.notna().any() else 1.0
            self.means[column] = mean
            # A constant column would divide by zero; 1 keeps it at 0 after centering.
            self.stds[column] = std if std > 0 and math.isfinite(std) else 1.0
        for column in self.categorical:
            seen = train[column].dropna().astype(str).unique().tolist()
            self.vocab[column] = [_UNKNOWN, *sorted(seen)]
        if self.task == "tabular-classification":
            self.classes = sorted(train[self.target].dropna().astype(str).unique().tolist())
        return self

    @property
    def num_features(self) -> int:
        """Width of the one-hot input tensor (numeric + all one-hot blocks)."""
        return len(self.numeric) + sum(len(v) for v in self.vocab.values())

    def transform(self, frame: pd.DataFrame) -> tuple[torch.Tensor | dict[str, torch.Tensor], torch.Tensor]:
        """Encode a frame with the fitted state.

        Returns:
            ``(inputs, targets)``: inputs as documented for ``encoding``; targets as long class
            indices (classification) or float32 values (regression).

        Raises:
            DataError: When not fitted, or a classification target holds a class unseen in training.
        """
        if not self.fitted:
            raise DataError("TabularPreprocessor.transform called before fit")
        rows = len(frame)
        numeric = np.zeros((rows, len(self.numeric)), dtype=np.float32)
        for i, column in enumerate(self.numeric):
            values = frame[column].astype("float64").to_numpy()
            values = np.where(np.isnan(values), self.means[column], values)
            numeric[:, i] = (values - self.means[column]) / self.stds[column]
        codes = np.zeros((rows, len(self.categorical)), dtype=np.int64)
        for i, column in enumerate(self.categorical):
            lookup = {v: j for j, v in enumerate(self.vocab[column])}
            values = frame[column].astype("string").fillna(_UNKNOWN).tolist()
            codes[:, i] = [lookup.get(str(v), 0) for v in values]
        if self.task == "tabular-classification":
            lookup = {c: j for j, c in enumerate(self.classes)}
            raw = frame[self.target].astype(str).tolist()
            unseen = sorted({v for v in raw if v not in lookup})
            if unseen:
                raise DataError(f"target column {self.target!r} has class(es) {unseen[:5]} unseen in training")
            targets = torch.tensor([lookup[v] for v in raw], dtype=torch.long)
        else:
            targets = torch.as_tensor(frame[self.target].astype("float64").to_numpy(), dtype=torch.float32)
        numeric_t = torch.from_numpy(numeric)
        codes_t = torch.from_numpy(codes)
        if self.encoding == "index":
            return {"numeric": numeric_t, "categorical": codes_t}, targets
        blocks = [numeric_t]
        for i, column in enumerate(self.categorical):
            blocks.append(torch.nn.functional.one_hot(codes_t[:, i], len(self.vocab[column])).float())
        return torch.cat(blocks, dim=1), targets

    def to_dict(self) -> dict[str, Any]:
        """The fitted state as JSON-able data (read back by :meth:`from_dict`)."""
        return {
            "numeric": self.numeric,
            "categorical": self.categorical,
            "target": self.target,
            "task": self.task,
            "encoding": self.encoding,
            "means": self.means,
            "stds": self.stds,
            "vocab": self.vocab,
            "classes": self.classes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TabularPreprocessor:
        """Rebuild a fitted preprocessor from :meth:`to_dict` output."""
        out = cls(
            numeric=data["numeric"],
            categorical=data["categorical"],
            target=data["target"],
            task=data["task"],
            encoding=data["encoding"],
        )
        out.means = dict(data["means"])
        out.stds = dict(data["stds"])
        out.vocab = {k: list(v) for k, v in data["vocab"].items()}
        out.classes = list(data["classes"])
        return out


class TabularDataset(Dataset[Any]):
    """Map-style dataset over encoded rows; a sample is ``(inputs, target)``."""

    def __init__(self, inputs: torch.Tensor | dict[str, torch.Tensor], targets: torch.Tensor) -> None:
        """Args:
        inputs: ``[rows, features]`` tensor, or a dict of ``[rows, ...]`` tensors.
        targets: ``[rows]`` tensor.
        """
        self.inputs = inputs
        self.targets = targets

    def __len__(self) -> int:
        return int(self.targets.shape[0])

    def __getitem__(self, index: int) -> tuple[Any, torch.Tensor]:
        if isinstance(self.inputs, dict):
            return {k: v[index] for k, v in self.inputs.items()}, self.targets[index]
        return self.inputs[index], self.targets[index]


def build_tabular(config: TabularConfig) -> DatasetSplits:
    """Build train/val/test splits from a table, fitting preprocessing on the train rows only.

    Args:
        config: Path, column declarations, split fractions and seed.

    Returns:
        The splits; ``info.extra["preprocessing"]`` holds the fitted state.

    Raises:
        DataError: For unreadable files, undeclared columns or inconsistent data.
    """
    frame = read_table(
        config.path,
        numeric=config.numeric,
        categorical=config.categorical,
        target=config.target,
        encoding=config.encoding,
        numeric_target=config.task == "tabular-regression",
    )
    order = np.random.default_rng(config.seed).permutation(len(frame))
    n_test = int(round(len(frame) * config.test_fraction))
    n_val = int(round(len(frame) * config.val_fraction))
    n_train = len(frame) - n_val - n_test
    if n_train <= 0:
        raise DataError(f"{config.path!r}: {len(frame)} rows leave no training rows after the val/test fractions")
    parts = {
        "train": frame.iloc[order[:n_train]],
        "val": frame.iloc[order[n_train : n_train + n_val]],
        "test": frame.iloc[order[n_train + n_val :]],
    }
    prep = TabularPreprocessor(
        numeric=config.numeric,
        categorical=config.categorical,
        target=config.target,
        task=config.task,
        encoding=config.categorical_encoding,
    ).fit(parts["train"])
    datasets: dict[str, TabularDataset | None] = {}
    for name, part in parts.items():
        datasets[name] = TabularDataset(*prep.transform(part)) if len(part) else None
    classification = config.task == "tabular-classification"
    schema = None
    if config.categorical_encoding == "onehot":
        schema = Schema(
            {
                "input": TensorSpec(shape=("N", prep.num_features), dtype="float32", finite=True),
                "target": TensorSpec(
                    shape=("N",),
                    dtype="int64" if classification else "float32",
                    classes=range(len(prep.classes)) if classification else None,
                ),
            }
        )
    info = DatasetInfo(
        name=Path(config.path).stem,
        source=str(config.path),
        license=config.license,
        fingerprint=fingerprint_files([config.path]),
        num_classes=len(prep.classes) if classification else None,
        schema=schema,
        task=config.task,
        extra={"preprocessing": prep.to_dict(), "seed": config.seed},
    )
    return DatasetSplits(train=datasets["train"], val=datasets["val"], test=datasets["test"], info=info)
