"""Metrics on torchmetrics: built from config, computed on accumulated state, synced across processes.

Importing this package is light; builders live in :mod:`forge.core.metrics.builders` and import
torch and torchmetrics, config classes in :mod:`forge.core.metrics.configs`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forge.core.metrics.builders import (
        build_accuracy,
        build_auroc,
        build_average_precision,
        build_calibration_error,
        build_f1,
        build_mae,
        build_mse,
        build_perplexity,
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


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.builders"), name)
