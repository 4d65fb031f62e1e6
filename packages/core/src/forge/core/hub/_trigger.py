"""Retraining triggers: drift or degraded metrics past a threshold request a retrain, never a promotion.

:func:`check_retrain` compares live (or new) inputs with the training reference
(:func:`forge.core.evaluator.drift_report`) and, optionally, current metrics with the production
version's recorded ones. When a threshold is passed it appends a ``retrain_requested`` entry to
the model registry's audit log, switches the model to requiring a person's approval for its next
production promotion, and calls the given hooks (start a training job, page someone, ...). The
new version that retraining produces goes through ``forge gate`` and ``forge models approve``
before ``forge models promote``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from forge.core.evaluator._drift import drift_report
from forge.core.hub._models import ModelRegistry

__all__ = ["RetrainDecision", "check_retrain"]


@attrs.frozen
class RetrainDecision:
    """Whether retraining was requested, and why."""

    triggered: bool
    reasons: tuple[str, ...]
    drift: dict[str, Any]


def check_retrain(
    registry: ModelRegistry,
    name: str,
    reference: Any,
    current: Any,
    *,
    metrics: Mapping[str, float] | None = None,
    max_drop: float = 0.02,
    psi_threshold: float = 0.2,
    ks_p_threshold: float = 0.01,
    hooks: Iterable[Callable[[RetrainDecision], None]] = (),
    feature_names: list[str] | None = None,
) -> RetrainDecision:
    """Check ``name``'s production model for drift and metric decay; request retraining when needed.

    Args:
        registry: The model registry.
        name: The registered model.
        reference: Training-time feature values ``[N, F]``.
        current: Recent feature values ``[M, F]``.
        metrics: Current metrics (``{"test/accuracy": 0.91}``) compared with the production
            version's recorded ones; a drop larger than ``max_drop`` triggers.
        max_drop: Allowed drop of any shared metric (higher is better for every metric except
            those with ``loss`` in their name).
        psi_threshold: See :func:`~forge.core.evaluator.drift_report`.
        ks_p_threshold: See :func:`~forge.core.evaluator.drift_report`.
        hooks: Called with the decision when retraining is requested.
        feature_names: Names of the features in reports.
    """
    production = registry.get(name, "production")
    report = drift_report(
        reference, current, psi_threshold=psi_threshold, ks_p_threshold=ks_p_threshold, names=feature_names
    )
    reasons = [f"input drift in {', '.join(report['drifted'])}"] if report["drifted"] else []
    if not report["drifted"] and report["drift"]:
        reasons.append(f"joint input drift (MMD p={report['mmd_p']:.3g})")
    recorded = production.record.get("metrics", {})
    for key, value in (metrics or {}).items():
        before = recorded.get(key)
        if isinstance(before, (int, float)):
            drop = (value - before) if "loss" in key else (before - value)
            if drop > max_drop:
                reasons.append(f"{key} degraded from {before:.4g} to {value:.4g}")
    decision = RetrainDecision(triggered=bool(reasons), reasons=tuple(reasons), drift=report)
    if decision.triggered:
        registry.record(name, production.version, "retrain_requested", reasons=list(reasons))
        registry.require_approval(name, True)
        for hook in hooks:
            hook(decision)
    return decision
