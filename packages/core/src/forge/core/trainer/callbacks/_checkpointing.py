"""Write checkpoints on a schedule (steps, epochs, end of training)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from forge.core.trainer._config import CheckpointConfig
from forge.core.trainer._events import Callback

if TYPE_CHECKING:
    import torch

    from forge.core.trainer._protocol import TrainerView

__all__ = ["CheckpointCallback", "build_checkpoint"]


class CheckpointCallback(Callback):
    """Save through ``trainer.save_checkpoint`` every N steps / epochs and at the end.

    A step checkpoint that coincides with a step validation is written after that validation, so
    its monitored metric (for keep-best) is the fresh one.

    Args:
        config: Schedule and retention (retention is applied by the run directory's manager).
    """

    def __init__(self, config: CheckpointConfig | None = None) -> None:
        self.config = config or CheckpointConfig()
        self._pending = False
        self._last_saved_step = -1

    def _save(self, trainer: TrainerView, reason: str) -> None:
        if trainer.global_step == self._last_saved_step:
            return
        trainer.save_checkpoint(reason=reason)
        self._last_saved_step = trainer.global_step

    def on_train_start(self, trainer: TrainerView) -> None:
        """A resumed run does not re-save the checkpoint it started from."""
        self._last_saved_step = trainer.global_step

    def on_step_end(self, trainer: TrainerView, loss: torch.Tensor) -> None:
        """Save when a step checkpoint is due (or defer it to the validation that follows)."""
        n = self.config.every_n_steps
        if n is not None and trainer.global_step % n == 0:
            if trainer.is_validation_due():
                self._pending = True
            else:
                self._save(trainer, "periodic")

    def on_validation_end(self, trainer: TrainerView, metrics: Mapping[str, float]) -> None:
        """Write a step checkpoint deferred by ``on_step_end``."""
        if self._pending:
            self._pending = False
            self._save(trainer, "periodic")

    def on_epoch_end(self, trainer: TrainerView, epoch: int) -> None:
        """Save every ``every_n_epochs`` epochs."""
        n = self.config.every_n_epochs
        if n is not None and (epoch + 1) % n == 0:
            self._save(trainer, "epoch_end")

    def on_train_end(self, trainer: TrainerView) -> None:
        """Save the final state (unless training failed or it was just saved)."""
        if self.config.save_last and trainer.model is not None and trainer.stop_reason:
            self._save(trainer, "last")


def build_checkpoint(config: CheckpointConfig) -> CheckpointCallback:
    """Build :class:`CheckpointCallback` (registered as callback ``core.checkpoint``)."""
    return CheckpointCallback(config)
