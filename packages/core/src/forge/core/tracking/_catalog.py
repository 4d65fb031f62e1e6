"""Registrations of the trackers and the tracking callback (light: strings only)."""

from __future__ import annotations

from forge.core.hookspecs import Register

__all__ = ["register_callbacks", "register_trackers"]

_T = "forge.core.tracking"


def register_trackers(register: Register) -> None:
    """Register ``core.csv``, ``core.tensorboard`` and ``core.mlflow``."""
    register(
        "csv",
        builder=f"{_T}._trackers:CSVTracker",
        config=f"{_T}._configs:CSVConfig",
        summary="Metrics as CSV in the run directory",
    )
    register(
        "tensorboard",
        builder=f"{_T}._trackers:TensorBoardTracker",
        config=f"{_T}._configs:TensorBoardConfig",
        summary="TensorBoard event files (needs tensorboard)",
    )
    register(
        "mlflow",
        builder=f"{_T}._trackers:MLflowTracker",
        config=f"{_T}._configs:MLflowConfig",
        summary="MLflow runs; a local SQLite database by default (needs mlflow)",
    )


def register_callbacks(register: Register) -> None:
    """Register ``core.tracking``."""
    register(
        "tracking",
        builder=f"{_T}._callback:build_tracking",
        config=f"{_T}._configs:TrackingConfig",
        summary="Mirror the run's config, metrics and files into trackers (CSV, TensorBoard, MLflow)",
    )
