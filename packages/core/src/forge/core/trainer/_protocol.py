"""What a trainer exposes to its callbacks: :class:`TrainerView`.

Callbacks (and the hook specifications in :mod:`forge.core.trainer._events`) are typed against this
protocol, not against the Trainer class, so they depend on what they use and nothing imports the
Trainer back. Anything not listed here is the Trainer's own business.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import torch
    from torch import nn

    from forge.core.trainer._config import ResolvedSettings, TrainerConfig

__all__ = ["TrainerView"]


class TrainerView(Protocol):
    """The attributes and methods of a trainer that callbacks may use.

    The counters and the stop request are plain attributes: a callback may set ``should_stop``
    and ``stop_reason`` (early stopping does). Everything else is read-only.
    """

    global_step: int
    """Optimizer steps done (resumed ones included)."""
    epoch: int
    """The current epoch (0-based); after an epoch ends, the number of epochs completed."""
    batch_in_epoch: int
    """Micro-batches consumed in the current epoch."""
    should_stop: bool
    """Set it to end training after the current step."""
    stop_reason: str
    """Why training ended ("max_steps", "max_epochs", "early_stopping", ...); empty while running."""
    latest_metrics: dict[str, float]
    """The latest validation metrics."""
    history: list[dict[str, float]]
    """Every validation's metrics, with their step and epoch."""
    samples_seen: int
    """Training samples consumed so far, resumed ones included (counted from batch shapes, on the host)."""
    tokens_seen: int
    """Training tokens consumed so far: elements of integer inputs of two or more dimensions (token ids)."""

    @property
    def epoch_label(self) -> int:
        """The epoch number log lines carry: counted from 1, the epoch in progress or just completed."""

    @property
    def config(self) -> TrainerConfig:
        """The trainer configuration."""

    @property
    def settings(self) -> ResolvedSettings:
        """The mode-dependent settings, resolved (``strict_validation``, ``nan_check``, ...)."""

    @property
    def model(self) -> nn.Module | None:
        """The prepared (possibly wrapped) model; None before ``fit``."""

    @property
    def unwrapped_model(self) -> nn.Module:
        """The model without DDP/compile wrappers (the one whose state is checkpointed)."""

    @property
    def optimizer(self) -> torch.optim.Optimizer | None:
        """The optimizer; None before ``fit``."""

    @property
    def scheduler(self) -> Any:
        """The learning-rate scheduler, or None."""

    @property
    def device(self) -> torch.device:
        """The device training runs on."""

    @property
    def steps_per_epoch(self) -> int | None:
        """Optimizer steps per epoch, when the train loader has a length; None before ``fit``."""

    def is_validation_due(self) -> bool:
        """Whether validation runs right after the current optimizer step."""

    def log_metrics(self, record: Mapping[str, Any], *, event: str = "train_step") -> None:
        """Write one structured record to the run's step log and the logger."""

    def save_checkpoint(self, *, reason: str = "periodic") -> Path | None:
        """Write a checkpoint; the directory, or None when there is nowhere to write (or not the main process)."""
