"""Registrations of forge-core's metrics (light: imports no torch).

Core's plugin module calls :func:`register_metrics` from its metrics hook; the names become
``core.accuracy``, ``core.auroc`` and so on. Every builder returns a ``torchmetrics.Metric``.
"""

from __future__ import annotations

from forge.core.hookspecs import Register

__all__ = ["register_metrics"]

_B = "forge.core.metrics._builders"
_CFG = "forge.core.metrics._configs"


def register_metrics(register: Register) -> None:
    """Register accuracy, f1, auroc, average_precision, calibration_error, mse, mae, perplexity.

    Args:
        register: The registration callback the metrics hook receives.
    """
    register(
        "accuracy",
        builder=f"{_B}:build_accuracy",
        config=f"{_CFG}:AccuracyConfig",
        summary="Accuracy on accumulated counts (micro by default)",
        tags=("classification",),
    )
    register(
        "f1",
        builder=f"{_B}:build_f1",
        config=f"{_CFG}:F1Config",
        summary="F1 score (macro by default)",
        tags=("classification",),
    )
    register(
        "auroc",
        builder=f"{_B}:build_auroc",
        config=f"{_CFG}:AUROCConfig",
        summary="Exact area under the ROC curve",
        tags=("classification", "ranking"),
    )
    register(
        "average_precision",
        builder=f"{_B}:build_average_precision",
        config=f"{_CFG}:AveragePrecisionConfig",
        summary="Average precision (area under the precision-recall curve)",
        tags=("classification", "ranking"),
    )
    register(
        "calibration_error",
        builder=f"{_B}:build_calibration_error",
        config=f"{_CFG}:CalibrationErrorConfig",
        summary="Expected (or maximum) calibration error",
        tags=("classification", "calibration"),
    )
    register(
        "mse",
        builder=f"{_B}:build_mse",
        config=f"{_CFG}:MSEConfig",
        summary="Mean squared error (or RMSE)",
        tags=("regression",),
    )
    register(
        "mae",
        builder=f"{_B}:build_mae",
        config=f"{_CFG}:MAEConfig",
        summary="Mean absolute error",
        tags=("regression",),
    )
    register(
        "perplexity",
        builder=f"{_B}:build_perplexity",
        config=f"{_CFG}:PerplexityConfig",
        summary="Perplexity of next-token predictions",
        tags=("language-modeling",),
    )
