"""Metrics on torchmetrics: built from config, computed on accumulated state, synced across processes.

Importing this package is light; builders live in :mod:`forge.core.metrics._builders` and import
torch and torchmetrics, config classes in :mod:`forge.core.metrics._configs`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core._lazy import lazy_exports

if TYPE_CHECKING:
    from forge.core.metrics._builders import build_accuracy as build_accuracy
    from forge.core.metrics._builders import build_auroc as build_auroc
    from forge.core.metrics._builders import build_average_precision as build_average_precision
    from forge.core.metrics._builders import build_calibration_error as build_calibration_error
    from forge.core.metrics._builders import build_f1 as build_f1
    from forge.core.metrics._builders import build_mae as build_mae
    from forge.core.metrics._builders import build_mse as build_mse
    from forge.core.metrics._builders import build_perplexity as build_perplexity

__getattr__, __dir__ = lazy_exports(__name__, __file__)
