"""The ``core.sweep_report`` callback: reports validation metrics of a trial to its Optuna study.

The callback finds its study through the storage URL and name in its config and its trial by
number, so a trial run in any process on any machine reports to the shared study. When the
study's pruner says so, it raises ``optuna.TrialPruned``; the sweep records the trial as pruned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from forge.core.config import field

__all__ = ["SweepReportCallback", "SweepReportConfig", "build_sweep_report", "make_pruner"]


@attrs.define
class SweepReportConfig:
    """Where a sweep trial reports to (filled in by ``forge sweep``)."""

    storage: str = field(help="SQLAlchemy URL of the study.", non_empty=True)
    study: str = field(help="The study's name.", non_empty=True)
    trial: int = field(help="The trial's number.", ge=0)
    metric: str = field(help="The metric reported (val/accuracy, ...).", non_empty=True)
    pruner: str = field(
        "median", help="The study's pruner (median or none): Optuna does not store it.", one_of=("median", "none")
    )


def make_pruner(name: str) -> Any:
    """The pruner a sweep uses, built the same way by the sweep and by each trial's callback."""
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=2) if name == "median" else optuna.pruners.NopPruner()


class SweepReportCallback:
    """Report ``metric`` after each validation; stop the run when the pruner says so."""

    def __init__(self, config: SweepReportConfig) -> None:
        import optuna

        self.config = config
        study = optuna.load_study(study_name=config.study, storage=config.storage, pruner=make_pruner(config.pruner))
        trial_id = next(t._trial_id for t in study.get_trials(deepcopy=False) if t.number == config.trial)
        self.trial = optuna.Trial(study, trial_id)

    def on_validation_end(self, trainer: Any, metrics: Mapping[str, float]) -> None:
        """Report the value; raise ``optuna.TrialPruned`` when the trial should stop."""
        import optuna

        value = metrics.get(self.config.metric)
        if value is None:
            return
        self.trial.report(float(value), trainer.global_step)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"trial {self.config.trial} pruned at step {trainer.global_step}")


def build_sweep_report(config: SweepReportConfig) -> SweepReportCallback:
    """Builder of the ``core.sweep_report`` callback."""
    return SweepReportCallback(config)
