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


def read_table(path: str | Path, *, numeric: Sequence[str] = (), categorical: Sequence[str] = ()) -> pd.DataFrame:
    """Read a CSV or Parquet file, with categorical columns read as strings.

    Args:
        path: ``.csv`` or ``.parquet`` file.
        numeric: Numeric columns (read as floats).
        categorical: Categorical columns (read as strings, so ``"007"`` stays ``"007"``).

    Returns:
        The table.

    Raises:
        DataError: For a missing file, an unknown suffix, missing pyarrow for Parquet, or a
            numeric column holding text.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"table file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        dtypes: dict[str, Any] = {c: "string" for c in categorical}
        frame = pd.read_csv(path, dtype=dtypes, encoding="utf-8")
    elif suffix in (".parquet", ".pq"):
        try:
            import pyarrow  # noqa: F401  # only to give a clear error when it is missing
        except ImportError as exc:
            raise DataError(f"reading {str(path)!r} needs pyarrow: pip install 'forge-core[parquet]'") from exc
        frame = pd.read_parquet(path)
        for column in categorical:
            if column in frame:
                frame[column] = frame[column].astype("string")
    else:
        raise DataError(f"unknown table format {suffix!r} for {str(path)!r}: use .csv or .parquet")
    missing = [c for c in (*numeric, *categorical) if c not in frame.columns]
    if missing:
        raise DataError(f"{str(path)!r} lacks declared column(s) {missing} (has {list(frame.columns)})")
    for column in numeric:
        try:
            frame[column] = pd.to_numeric(frame[column], errors="raise").astype("float64")
        except (ValueError, TypeError) as exc:
            raise DataError(f"{str(path)!r}: numeric column {column!r} holds non-numbers: {exc}") from exc
    return frame


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
    frame = read_table(config.path, numeric=config.numeric, categorical=config.categorical)
    if config.target not in frame.columns:
        raise DataError(f"{config.path!r} lacks the target column {config.target!r}")
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
