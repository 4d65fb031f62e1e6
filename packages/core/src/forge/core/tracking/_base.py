"""The tracker interface."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = ["Tracker", "flatten_params"]


@runtime_checkable
class Tracker(Protocol):
    """What a ``tracker`` component's builder returns."""

    def start(self, run_dir: Path, params: Mapping[str, Any]) -> None:
        """A run begins (or resumes): ``params`` is its flattened config (``optimizer.lr`` -> 0.003)."""
        ...

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Numeric values of one ``log.jsonl`` record at optimizer step ``step``."""
        ...

    def log_artifact(self, path: Path) -> None:
        """A file of the run worth keeping beside the metrics."""
        ...

    def finish(self, status: str) -> None:
        """The run ended: ``"finished"`` or ``"failed"``."""
        ...


def flatten_params(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"optimizer": {"lr": 0.1}}`` -> ``{"optimizer.lr": 0.1}``; lists become JSON-like text."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_params(value, name + "."))
        elif isinstance(value, (list, tuple)):
            out[name] = str(list(value))
        else:
            out[name] = value
    return out
