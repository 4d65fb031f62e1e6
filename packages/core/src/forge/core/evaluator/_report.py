"""The evaluation report: metrics with confidence intervals, serialized to JSON."""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from forge.core._atomic import write_text
from forge.core.errors import DataError
from forge.core.evaluator._intervals import ConfidenceInterval

__all__ = ["EvalReport"]


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat()


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


@attrs.frozen
class EvalReport:
    """What an evaluation found, ready to write into a run directory.

    Attributes:
        metrics: Metric name -> value on the evaluated data (non-finite values are written as null).
        intervals: Metric name -> its confidence interval.
        num_samples: How many examples were evaluated.
        split: Which split (``"val"``, ``"test"``...).
        model: What was evaluated (a run id, checkpoint path or registry name).
        dataset: The dataset's name (and version or fingerprint, where known).
        created: When the report was made (ISO 8601, UTC).
        extra: Anything else JSON-able (config, environment, per-class tables).

    Example::

        report = EvalReport(metrics={"accuracy": 0.87}, num_samples=100,
                            intervals={"accuracy": wilson_interval(87, 100)})
        report.save("runs/a/eval.json")
    """

    metrics: dict[str, float]
    num_samples: int
    intervals: dict[str, ConfidenceInterval] = attrs.field(factory=dict)
    split: str = "test"
    model: str = ""
    dataset: str = ""
    created: str = attrs.field(factory=_now)
    extra: dict[str, Any] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-able dict (NaN and infinities become ``None``)."""
        return {
            "metrics": {k: _finite_or_none(float(v)) for k, v in self.metrics.items()},
            "intervals": {k: ci.to_dict() for k, ci in self.intervals.items()},
            "num_samples": self.num_samples,
            "split": self.split,
            "model": self.model,
            "dataset": self.dataset,
            "created": self.created,
            "extra": self.extra,
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as JSON text.

        Raises:
            DataError: ``extra`` holds something JSON cannot represent.
        """
        try:
            return json.dumps(self.to_dict(), indent=indent, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise DataError(f"evaluation report is not JSON-able: {exc}") from exc

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvalReport:
        """Rebuild a report from :meth:`to_dict`'s output (``None`` metrics come back as NaN).

        Raises:
            DataError: A required key is missing or malformed.
        """
        try:
            return cls(
                metrics={k: math.nan if v is None else float(v) for k, v in data["metrics"].items()},
                intervals={k: ConfidenceInterval.from_dict(dict(v)) for k, v in data.get("intervals", {}).items()},
                num_samples=int(data["num_samples"]),
                split=str(data.get("split", "test")),
                model=str(data.get("model", "")),
                dataset=str(data.get("dataset", "")),
                created=str(data.get("created", "")),
                extra=dict(data.get("extra", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"malformed evaluation report: {exc!r}") from exc

    @classmethod
    def from_json(cls, text: str) -> EvalReport:
        """Parse :meth:`to_json`'s output.

        Raises:
            DataError: Invalid JSON or a malformed report.
        """
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise DataError(f"evaluation report is not valid JSON: {exc}") from exc
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the report as JSON, atomically (temporary file, then rename).

        Returns:
            The path written.
        """
        return write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EvalReport:
        """Read a report :meth:`save` wrote.

        Raises:
            DataError: The file is unreadable or malformed (the message names it).
        """
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise DataError(f"cannot read evaluation report {p}: {exc}") from exc
        try:
            return cls.from_json(text)
        except DataError as exc:
            raise DataError(f"{p}: {exc}") from exc
