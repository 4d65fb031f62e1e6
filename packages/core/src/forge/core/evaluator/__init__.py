"""Evaluation: confidence intervals for metrics and a JSON evaluation report (no torch import)."""

from __future__ import annotations

from forge.core.evaluator.intervals import ConfidenceInterval, bootstrap_interval, wilson_interval
from forge.core.evaluator.report import EvalReport

__all__ = ["ConfidenceInterval", "EvalReport", "bootstrap_interval", "wilson_interval"]
