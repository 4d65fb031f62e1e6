"""Config classes of the tracking components (no torch import)."""

from __future__ import annotations

from typing import Any

import attrs

from forge.core.config import field

__all__ = ["CSVConfig", "MLflowConfig", "TensorBoardConfig", "TrackingConfig"]


@attrs.define
class TrackingConfig:
    """The ``core.tracking`` callback: which trackers mirror the run."""

    trackers: list[dict[str, Any]] = field(
        factory=lambda: [{"name": "core.csv"}],
        help="Tracker sections: [{name = 'core.mlflow', tracking_uri = 'sqlite:///mlflow.db'}, ...].",
    )


@attrs.define
class CSVConfig:
    """Metrics as CSV."""

    filename: str = field("metrics.csv", help="File in the run directory.", non_empty=True)


@attrs.define
class TensorBoardConfig:
    """TensorBoard event files."""

    log_dir: str | None = field(None, help="Folder of the event files (default RUN_DIR/tensorboard).", non_empty=True)


@attrs.define
class MLflowConfig:
    """An MLflow run per forge run."""

    tracking_uri: str = field(
        "sqlite:///mlflow.db", help="MLflow tracking URI (a local SQLite database by default).", non_empty=True
    )
    experiment: str = field("forge", help="MLflow experiment name.", non_empty=True)
    run_name: str | None = field(None, help="MLflow run name (default: the run directory's name).", non_empty=True)
    artifact_location: str | None = field(
        None,
        help="Where a new experiment keeps artifacts (default: MLflow's, ./mlruns beside a SQLite store).",
        non_empty=True,
    )
