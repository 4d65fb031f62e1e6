"""Registration of the sweep's reporting callback (light: strings only)."""

from __future__ import annotations

from forge.core.hookspecs import Register

__all__ = ["register_callbacks"]


def register_callbacks(register: Register) -> None:
    """Register ``core.sweep_report``."""
    register(
        "sweep_report",
        builder="forge.core.sweep._report:build_sweep_report",
        config="forge.core.sweep._report:SweepReportConfig",
        summary="Report validation metrics to an Optuna study and stop pruned trials (set by forge sweep)",
    )
