"""Metric builders: each returns a ``torchmetrics.Metric``.

torchmetrics metrics accumulate state (counts, or every score for curve metrics) across
``update`` calls and compute once on the whole, so an epoch's figure is exact whatever the batch
sizes, never an average of per-batch values. In a distributed run, ``compute()`` first gathers
that state from every process (``sync_on_compute``), so every rank reports the global figure.

Example::

    metric = build_accuracy(AccuracyConfig(task="multiclass", num_classes=10))
    for logits, y in loader:
        metric.update(logits, y)
    value = metric.compute()
"""

from __future__ import annotations

from typing import Any

import torchmetrics
from torchmetrics import Metric
from torchmetrics.text import Perplexity

from forge.core.metrics._configs import (
    AccuracyConfig,
    AUROCConfig,
    AveragePrecisionConfig,
    CalibrationErrorConfig,
    F1Config,
    MAEConfig,
    MSEConfig,
    PerplexityConfig,
)

__all__ = [
    "build_accuracy",
    "build_auroc",
    "build_average_precision",
    "build_calibration_error",
    "build_f1",
    "build_mae",
    "build_mse",
    "build_perplexity",
]


def _task_kwargs(task: str, num_classes: int | None, num_labels: int | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"task": task}
    if task == "multiclass":
        kwargs["num_classes"] = num_classes
    elif task == "multilabel":
        kwargs["num_labels"] = num_labels
    return kwargs


def build_accuracy(config: AccuracyConfig) -> Metric:
    """Build an accuracy metric (``torchmetrics.Accuracy``)."""
    kwargs = _task_kwargs(config.task, config.num_classes, config.num_labels)
    if config.task == "multiclass":
        kwargs["top_k"] = config.top_k
    if config.task != "binary":
        kwargs["average"] = config.average
    metric: Metric = torchmetrics.Accuracy(
        **kwargs,
        threshold=config.threshold,
        ignore_index=config.ignore_index,
        sync_on_compute=config.sync_on_compute,
    )
    return metric


def build_f1(config: F1Config) -> Metric:
    """Build an F1 metric (``torchmetrics.F1Score``)."""
    kwargs = _task_kwargs(config.task, config.num_classes, config.num_labels)
    if config.task != "binary":
        kwargs["average"] = config.average
    metric: Metric = torchmetrics.F1Score(
        **kwargs,
        threshold=config.threshold,
        ignore_index=config.ignore_index,
        sync_on_compute=config.sync_on_compute,
    )
    return metric


def build_auroc(config: AUROCConfig) -> Metric:
    """Build an exact AUROC metric (``torchmetrics.AUROC`` with ``thresholds=None``)."""
    kwargs = _task_kwargs(config.task, config.num_classes, config.num_labels)
    if config.task != "binary":
        kwargs["average"] = config.average
    else:
        kwargs["max_fpr"] = config.max_fpr
    metric: Metric = torchmetrics.AUROC(
        **kwargs, thresholds=None, ignore_index=config.ignore_index, sync_on_compute=config.sync_on_compute
    )
    return metric


def build_average_precision(config: AveragePrecisionConfig) -> Metric:
    """Build an exact average-precision metric (``torchmetrics.AveragePrecision``)."""
    kwargs = _task_kwargs(config.task, config.num_classes, config.num_labels)
    if config.task != "binary":
        kwargs["average"] = config.average
    metric: Metric = torchmetrics.AveragePrecision(
        **kwargs, thresholds=None, ignore_index=config.ignore_index, sync_on_compute=config.sync_on_compute
    )
    return metric


def build_calibration_error(config: CalibrationErrorConfig) -> Metric:
    """Build a calibration-error metric (``torchmetrics.CalibrationError``)."""
    kwargs = _task_kwargs(config.task, config.num_classes, None)
    metric: Metric = torchmetrics.CalibrationError(
        **kwargs,
        n_bins=config.n_bins,
        norm=config.norm,
        ignore_index=config.ignore_index,
        sync_on_compute=config.sync_on_compute,
    )
    return metric


def build_mse(config: MSEConfig) -> Metric:
    """Build a mean-squared-error metric (root MSE when ``squared`` is false)."""
    return torchmetrics.MeanSquaredError(squared=config.squared, sync_on_compute=config.sync_on_compute)


def build_mae(config: MAEConfig) -> Metric:
    """Build a mean-absolute-error metric."""
    return torchmetrics.MeanAbsoluteError(sync_on_compute=config.sync_on_compute)


def build_perplexity(config: PerplexityConfig) -> Metric:
    """Build a perplexity metric; ``update(logits (N, T, V), target (N, T))``."""
    # Perplexity's **kwargs are annotated as dict values in torchmetrics; they are Metric kwargs.
    options: dict[str, Any] = {"sync_on_compute": config.sync_on_compute}
    metric: Metric = Perplexity(ignore_index=config.ignore_index, **options)
    return metric
