"""Stop training when a monitored metric stops improving."""

from __future__ import annotations

import math
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

import torch

from forge.core._logging import get_logger
from forge.core.errors import ConfigError
from forge.core.trainer._config import EarlyStoppingConfig
from forge.core.trainer._events import Callback

if TYPE_CHECKING:
    from forge.core.trainer._protocol import TrainerView

__all__ = ["EarlyStopping", "build_early_stopping"]

_log = get_logger("forge.trainer")


class EarlyStopping(Callback):
    """Set ``trainer.should_stop`` after ``patience`` validations without improvement.

    Args:
        monitor: Metric name as logged by validation (``"val/loss"``, ``"val/accuracy"``).
        mode: "min" or "max".
        patience: Validations without improvement tolerated.
        min_delta: Smallest change counted as an improvement.
    """

    def __init__(
        self, monitor: str = "val/loss", *, mode: str = "min", patience: int = 3, min_delta: float = 0.0
    ) -> None:
        if mode not in ("min", "max"):
            raise ConfigError(f"early_stopping.mode: expected 'min' or 'max', got {mode!r}")
        self.monitor = monitor
        self.mode = mode
        self.patience = patience
        self.min_delta = abs(min_delta)
        self.best = math.inf if mode == "min" else -math.inf
        self.wait = 0
        self.stopped_at: int | None = None
        self._warned = False

    @property
    def state_key(self) -> str:
        """Checkpoint key."""
        return "early_stopping"

    def improved(self, value: float) -> bool:
        """Whether ``value`` beats the best so far by more than ``min_delta``."""
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_validation_end(self, trainer: TrainerView, metrics: Mapping[str, float]) -> None:
        """Track the monitored metric; ask the trainer to stop when patience runs out."""
        value = metrics.get(self.monitor)
        if value is None:
            msg = f"early_stopping.monitor: metric {self.monitor!r} was not logged (logged: {sorted(metrics)})"
            if trainer.settings.strict_validation:
                raise ConfigError(msg)
            if not self._warned:
                _log.warning("early_stopping_metric_missing", monitor=self.monitor, logged=sorted(metrics))
                self._warned = True
            return
        if self.improved(value):
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            trainer.should_stop = True
            trainer.stop_reason = "early_stopping"
            self.stopped_at = trainer.global_step
            _log.info("early_stopping", monitor=self.monitor, best=self.best, step=trainer.global_step)

    def on_save_checkpoint(self, trainer: TrainerView, state: MutableMapping[str, Any]) -> None:
        """Save best value and wait count."""
        state[self.state_key] = {"best": torch.tensor(self.best, dtype=torch.float64), "wait": torch.tensor(self.wait)}

    def on_load_checkpoint(self, trainer: TrainerView, state: Mapping[str, Any]) -> None:
        """Restore best value and wait count."""
        saved = state.get(self.state_key)
        if saved is not None:
            self.best = float(saved["best"])
            self.wait = int(saved["wait"])


def build_early_stopping(config: EarlyStoppingConfig) -> EarlyStopping:
    """Build :class:`EarlyStopping` from its config (registered as callback ``core.early_stopping``)."""
    return EarlyStopping(config.monitor, mode=config.mode, patience=config.patience, min_delta=config.min_delta)
