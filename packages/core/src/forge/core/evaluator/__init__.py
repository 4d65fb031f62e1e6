"""Evaluation: confidence intervals, a JSON evaluation report, and scoring a finished run.

Importing this package is light (no torch): each name below loads on first attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core._lazy import lazy_exports

if TYPE_CHECKING:
    from forge.core.evaluator._intervals import ConfidenceInterval as ConfidenceInterval
    from forge.core.evaluator._intervals import bootstrap_interval as bootstrap_interval
    from forge.core.evaluator._intervals import wilson_interval as wilson_interval
    from forge.core.evaluator._report import EvalReport as EvalReport
    from forge.core.evaluator._run import evaluate_run as evaluate_run

__getattr__, __dir__ = lazy_exports(__name__, __file__)
