"""Reading run directories: one summary per run, lists, and the difference between two runs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from forge.core._run_files import read_json
from forge.core.errors import CheckpointError

__all__ = ["RunSummary", "compare_runs", "list_runs", "read_run"]


def _read_json(path: Path) -> dict[str, Any] | None:
    data: dict[str, Any] | None = read_json(path, missing=None)
    return data


@attrs.frozen
class RunSummary:
    """What a run directory says about itself."""

    path: Path
    config: dict[str, Any]
    metrics: dict[str, Any]
    lineage: dict[str, Any]
    created: float

    @property
    def model(self) -> str:
        """The model's registered name."""
        return str(self.config.get("model", {}).get("name", "?"))

    @property
    def dataset(self) -> str:
        """The dataset's registered name."""
        return str(self.config.get("data", {}).get("name", "?"))

    @property
    def status(self) -> str:
        """``finished`` (with its stop reason), ``running or interrupted``, or ``no checkpoint``."""
        if self.metrics.get("stop_reason"):
            return f"finished ({self.metrics['stop_reason']})"
        if (self.path / "checkpoints").is_dir():
            return "running or interrupted"
        return "no checkpoint"

    def to_json(self) -> dict[str, Any]:
        """Plain data (for ``--json``)."""
        return {
            "path": str(self.path),
            "model": self.model,
            "dataset": self.dataset,
            "status": self.status,
            "created": self.created,
            "config_hash": self.lineage.get("config_hash"),
            "data_fingerprint": self.lineage.get("dataset", {}).get("fingerprint"),
            "metrics": self.metrics,
        }


def read_run(path: str | os.PathLike[str]) -> RunSummary:
    """Summarise one run directory.

    Raises:
        CheckpointError: ``path`` is not a run directory (no ``config.json``), or a file is damaged.
    """
    root = Path(path)
    config = _read_json(root / "config.json")
    if config is None:
        raise CheckpointError(f"{root}: not a run directory (no config.json)")
    return RunSummary(
        path=root,
        config=config,
        metrics=_read_json(root / "metrics.json") or {},
        lineage=_read_json(root / "lineage.json") or {},
        created=(root / "config.json").stat().st_mtime,
    )


def list_runs(root: str | os.PathLike[str] = "runs") -> list[RunSummary]:
    """Every run directory directly under ``root``, newest first (damaged ones are skipped)."""
    base = Path(root)
    if not base.is_dir():
        return []
    runs = []
    for child in base.iterdir():
        if (child / "config.json").is_file():
            try:
                runs.append(read_run(child))
            except CheckpointError:
                continue
    return sorted(runs, key=lambda r: r.created, reverse=True)


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, path + "."))
        else:
            out[path] = value
    return out


def compare_runs(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> dict[str, Any]:
    """The config keys whose values differ and every metric of either run with its difference.

    Returns:
        ``{"a": path, "b": path, "config": {key: [a, b]}, "metrics": {name: {"a", "b", "delta"}}}``;
        a value missing on one side is None.
    """
    ra, rb = read_run(a), read_run(b)
    ca, cb = _flatten(ra.config), _flatten(rb.config)
    config = {k: [ca.get(k), cb.get(k)] for k in sorted(ca.keys() | cb.keys()) if ca.get(k) != cb.get(k)}
    metrics: dict[str, dict[str, Any]] = {}
    for name in sorted(ra.metrics.keys() | rb.metrics.keys()):
        va, vb = ra.metrics.get(name), rb.metrics.get(name)
        numeric = isinstance(va, (int, float)) and isinstance(vb, (int, float))
        metrics[name] = {"a": va, "b": vb, "delta": (vb - va) if numeric else None}  # type: ignore[operator]
    return {"a": str(ra.path), "b": str(rb.path), "config": config, "metrics": metrics}
