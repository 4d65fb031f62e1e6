"""The built-in trackers: CSV, TensorBoard and MLflow."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from forge.core.errors import ConfigError
from forge.core.tracking._configs import CSVConfig, MLflowConfig, TensorBoardConfig

__all__ = ["CSVTracker", "MLflowTracker", "TensorBoardTracker"]


class CSVTracker:
    """One row per record: ``step`` and every metric seen so far (the header grows by rewriting)."""

    def __init__(self, config: CSVConfig | None = None) -> None:
        self.config = config or CSVConfig()
        self.path: Path | None = None
        self.rows: list[dict[str, Any]] = []

    def start(self, run_dir: Path, params: Mapping[str, Any]) -> None:
        """Open ``RUN_DIR/metrics.csv`` (a resumed run keeps its earlier rows)."""
        self.path = run_dir / self.config.filename
        if self.path.exists():
            with self.path.open(newline="", encoding="utf-8") as f:
                self.rows = list(csv.DictReader(f))

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Append a row."""
        self.rows.append({"step": step, **metrics})
        self._write()

    def _write(self) -> None:
        if self.path is None:
            return
        columns = ["step", *sorted({k for r in self.rows for k in r} - {"step"})]
        tmp = self.path.with_suffix(".csv.tmp")
        with tmp.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.rows)
        tmp.replace(self.path)

    def log_artifact(self, path: Path) -> None:
        """Artifacts already live in the run directory."""

    def finish(self, status: str) -> None:
        """Nothing to close."""


class TensorBoardTracker:
    """Scalars in TensorBoard event files (needs the ``tensorboard`` package)."""

    def __init__(self, config: TensorBoardConfig | None = None) -> None:
        self.config = config or TensorBoardConfig()
        self.writer: Any = None

    def start(self, run_dir: Path, params: Mapping[str, Any]) -> None:
        """Open the event file; the config goes in as text."""
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            raise ConfigError(
                f"core.tensorboard: needs the tensorboard package ({exc}): pip install tensorboard"
            ) from exc
        self.writer = SummaryWriter(log_dir=self.config.log_dir or str(run_dir / "tensorboard"))
        table = "\n".join(f"| {k} | {v} |" for k, v in sorted(params.items()))
        self.writer.add_text("config", "| key | value |\n| --- | --- |\n" + table)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """One scalar per metric."""
        for name, value in metrics.items():
            self.writer.add_scalar(name, value, step)

    def log_artifact(self, path: Path) -> None:
        """TensorBoard keeps no files."""

    def finish(self, status: str) -> None:
        """Flush and close."""
        if self.writer is not None:
            self.writer.add_text("status", status)
            self.writer.close()


class MLflowTracker:
    """An MLflow run mirroring the forge run (needs the ``mlflow`` package)."""

    def __init__(self, config: MLflowConfig | None = None) -> None:
        self.config = config or MLflowConfig()
        self.client: Any = None
        self.run_id: str | None = None

    def start(self, run_dir: Path, params: Mapping[str, Any]) -> None:
        """Create (or, on resume, reopen) the MLflow run tagged with the run directory."""
        try:
            from mlflow.tracking import MlflowClient
        except ImportError as exc:
            raise ConfigError(f"core.mlflow: needs the mlflow package ({exc}): pip install mlflow") from exc
        self.client = MlflowClient(tracking_uri=self.config.tracking_uri)
        experiment = self.client.get_experiment_by_name(self.config.experiment)
        experiment_id = (
            experiment.experiment_id
            if experiment
            else self.client.create_experiment(self.config.experiment, artifact_location=self.config.artifact_location)
        )
        tag = str(run_dir.resolve())
        found = self.client.search_runs([experiment_id], filter_string=f"tags.`forge.run_dir` = '{tag}'")
        if found:
            self.run_id = found[0].info.run_id
            self.client.update_run(self.run_id, status="RUNNING")
            return
        run = self.client.create_run(
            experiment_id, run_name=self.config.run_name or run_dir.name, tags={"forge.run_dir": tag}
        )
        self.run_id = run.info.run_id
        for key, value in params.items():
            self.client.log_param(self.run_id, key, str(value)[:6000])

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Log every metric at ``step``."""
        for name, value in metrics.items():
            self.client.log_metric(self.run_id, name.replace("/", "."), float(value), step=step)

    def log_artifact(self, path: Path) -> None:
        """Copy the file into the MLflow run's artifact store."""
        self.client.log_artifact(self.run_id, str(path))

    def finish(self, status: str) -> None:
        """Mark the MLflow run FINISHED or FAILED."""
        if self.client is not None and self.run_id is not None:
            self.client.set_terminated(self.run_id, status="FINISHED" if status == "finished" else "FAILED")
