"""What a dataset builder returns: the splits and the metadata that make them traceable.

This module is light (no torch at import time) so that registries and CLIs can name these types.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from forge.core.data._schema import Schema
from forge.core.errors import DataError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from torch.utils.data import Dataset, IterableDataset

    AnyDataset = Dataset[Any] | IterableDataset[Any]

__all__ = ["TASKS", "DatasetInfo", "DatasetSplits"]

#: Task names forge's own components understand; plugins may use others.
TASKS = frozenset(
    {
        "classification",
        "image-classification",
        "regression",
        "text-classification",
        "language-modeling",
        "forecasting",
        "tabular-classification",
        "tabular-regression",
        "segmentation",
        "detection",
        "generation",
        "graph",
        "other",
    }
)


def _check_fingerprint(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    # Lineage is useless when a fingerprint is blank, so refuse it where it is made.
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"DatasetInfo.{attribute.name} must be a non-empty string (got {value!r})")


@attrs.frozen(kw_only=True)
class DatasetInfo:
    """Provenance and shape of a dataset.

    Attributes:
        name: Qualified or short dataset name (``"core.synthetic_classification"``).
        version: The dataset's version string (the data's, not forge's).
        source: Where the data came from: a URL, a path, or ``"generated"``.
        license: SPDX identifier or licence name of the data.
        fingerprint: Content hash (see :mod:`forge.core.data._fingerprint`).
        num_classes: Number of classes for classification tasks, else ``None``.
        schema: Declared input/target schema, or ``None`` when not declared.
        task: What the data is for (see :data:`TASKS`).
        extra: Free-form JSON-able metadata (column names, preprocessing statistics, ...).
    """

    name: str
    version: str = "0"
    source: str = "unknown"
    license: str = "unknown"
    fingerprint: str = attrs.field(validator=_check_fingerprint)
    num_classes: int | None = None
    schema: Schema | None = None
    task: str = "other"
    extra: Mapping[str, Any] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dictionary of every field (the schema as its own dictionary)."""
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "license": self.license,
            "fingerprint": self.fingerprint,
            "num_classes": self.num_classes,
            "schema": None if self.schema is None else self.schema.to_dict(),
            "task": self.task,
            "extra": dict(self.extra),
        }


def _split_size(split: object) -> int | None:
    try:
        return len(split)  # type: ignore[arg-type]  # iterable datasets may define no __len__
    except TypeError:
        return None


def _split_kind(split: object) -> str:
    # Checked by class name so that this light module never needs torch (torch's Dataset base
    # gives IterableDataset a __getitem__ too, so duck typing cannot tell them apart).
    return "iterable" if any(c.__name__ == "IterableDataset" for c in type(split).__mro__) else "map"


@attrs.define(kw_only=True)
class DatasetSplits:
    """The train/val/test splits of a dataset with its :class:`DatasetInfo`.

    Samples are ``(input, target)`` tuples unless the dataset documents otherwise.

    Attributes:
        train: The training split (map-style or iterable torch dataset), or ``None``.
        val: The validation split, or ``None``.
        test: The test split, or ``None``.
        info: Provenance and schema.

    Example:
        >>> splits = registry.build("dataset", "core.synthetic_classification")  # doctest: +SKIP
        >>> splits.lineage()["fingerprint"]  # doctest: +SKIP
    """

    train: AnyDataset | None
    val: AnyDataset | None = None
    test: AnyDataset | None = None
    info: DatasetInfo

    def items(self) -> list[tuple[str, AnyDataset]]:
        """Return ``(split name, dataset)`` for every split that is present, in train/val/test order."""
        out: list[tuple[str, AnyDataset]] = []
        for name in ("train", "val", "test"):
            split = getattr(self, name)
            if split is not None:
                out.append((name, split))
        return out

    def lineage(self) -> dict[str, Any]:
        """Return the JSON-able lineage record a run directory stores for this dataset.

        Returns:
            The :meth:`DatasetInfo.to_dict` fields plus ``"splits"``: for each present split its
            kind (``"map"``/``"iterable"``) and size (``None`` when the split has no length).
        """
        record = self.info.to_dict()
        record["splits"] = {
            name: {"kind": _split_kind(split), "size": _split_size(split)} for name, split in self.items()
        }
        return record
