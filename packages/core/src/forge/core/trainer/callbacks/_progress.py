"""A progress bar for interactive terminals; silent when output is not a terminal."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from forge.core.trainer._events import Callback

if TYPE_CHECKING:
    import torch

    from forge.core.trainer._protocol import TrainerView

__all__ = ["ProgressCallback"]


class ProgressCallback(Callback):
    """Show steps done, epoch and the last validation metrics with :mod:`rich`.

    The bar advances without reading the loss (that would synchronize the device each step);
    the loss appears in log lines instead.
    """

    def __init__(self) -> None:
        self._progress: Any = None
        self._task: Any = None

    @staticmethod
    def wanted(setting: bool | None) -> bool:
        """Whether to show a bar: the explicit setting, else only on an interactive terminal."""
        return setting if setting is not None else sys.stderr.isatty()

    def on_train_start(self, trainer: TrainerView) -> None:
        """Open the bar."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        total = trainer.config.max_steps
        if total is None and trainer.steps_per_epoch is not None and trainer.config.max_epochs is not None:
            total = trainer.steps_per_epoch * trainer.config.max_epochs
        self._progress = Progress(
            TextColumn("[bold]train"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task("train", total=total, completed=trainer.global_step, info="")

    def on_step_end(self, trainer: TrainerView, loss: torch.Tensor) -> None:
        """Advance by one step."""
        self._progress.advance(self._task)

    def on_validation_end(self, trainer: TrainerView, metrics: Mapping[str, float]) -> None:
        """Show the latest validation metrics."""
        info = " ".join(f"{k}={v:.4g}" for k, v in metrics.items())
        self._progress.update(self._task, info=f"epoch {trainer.epoch} {info}")

    def on_train_end(self, trainer: TrainerView) -> None:
        """Close the bar."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
