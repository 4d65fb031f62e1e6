"""Evaluation: confidence intervals, a JSON evaluation report, and scoring a finished run.

Importing this package is light (no torch): each name below loads on first attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core._lazy import lazy_exports

if TYPE_CHECKING:
    from forge.core.evaluator._run import evaluate_run as evaluate_run
    from forge.core.evaluator.intervals import ConfidenceInterval as ConfidenceInterval
    from forge.core.evaluator.intervals import bootstrap_interval as bootstrap_interval
    from forge.core.evaluator.intervals import wilson_interval as wilson_interval
    from forge.core.evaluator.report import EvalReport as EvalReport

__getattr__, __dir__ = lazy_exports(__name__, __file__)
