"""Log the learning rate of every parameter group when a log line is due."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core.trainer._events import Callback

if TYPE_CHECKING:
    import torch

    from forge.core.trainer._protocol import TrainerView

__all__ = ["LearningRateMonitor"]


class LearningRateMonitor(Callback):
    """Write ``lr/group<i>`` (and ``momentum/group<i>`` where present) every ``log_every_n_steps``."""

    def __init__(self, every_n_steps: int | None = None) -> None:
        self.every_n_steps = every_n_steps
        self.records: list[dict[str, float]] = []

    def on_step_end(self, trainer: TrainerView, loss: torch.Tensor) -> None:
        """Record the learning rates (reading Python floats: no device synchronization)."""
        n = self.every_n_steps or trainer.config.log_every_n_steps
        if trainer.global_step % n or trainer.optimizer is None:
            return
        record: dict[str, float] = {"step": float(trainer.global_step)}
        for i, group in enumerate(trainer.optimizer.param_groups):
            record[f"lr/group{i}"] = float(group["lr"])
            if "momentum" in group:
                record[f"momentum/group{i}"] = float(group["momentum"])
        self.records.append(record)
        trainer.log_metrics(record)
