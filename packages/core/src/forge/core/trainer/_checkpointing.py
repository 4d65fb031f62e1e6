"""Checkpoint save and resume of a training run.

What a checkpoint of a run holds: the state groups (model, optimizer, scheduler, scaler, the
callbacks' state, RNG) and the trainer state (counters, metrics history, data position) in the
manifest. Saving goes through a :class:`~forge.core._checkpoint.CheckpointManager` the Trainer is
handed (numbering and retention are the manager's); which checkpoint a source path means is
:func:`forge.core._run.find_checkpoint`'s decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from forge.core._checkpoint import CheckpointManager
from forge.core._reproducibility import capture_rng_state, restore_rng_state
from forge.core._run import find_checkpoint
from forge.core.config import unstructure
from forge.core.errors import CheckpointError
from forge.core.trainer._config import CheckpointConfig
from forge.core.trainer._protocol import TrainerView

if TYPE_CHECKING:
    import torch

    from forge.core.trainer._events import CallbackManager

__all__ = ["CheckpointedTrainer", "make_manager", "restore", "save", "state_groups", "trainer_state"]


class CheckpointedTrainer(TrainerView, Protocol):
    """What checkpointing reads from and restores into a trainer, beyond :class:`TrainerView`."""

    skipped_steps: int

    @property
    def scaler(self) -> Any:
        """The fp16 gradient scaler, or None."""

    @property
    def manager(self) -> CallbackManager:
        """The callbacks, asked for their state on save and given it back on restore."""


def make_manager(root: Path, config: CheckpointConfig) -> CheckpointManager:
    """The checkpoint manager of a run's ``root`` folder, with ``config``'s retention.

    ``keep_best`` applies only when ``config.monitor`` names a metric.
    """
    return CheckpointManager(
        root,
        keep_last=config.keep_last,
        keep_best=config.keep_best if config.monitor else 0,
        monitor=config.monitor or "val/loss",
        mode=config.mode,
    )


def _optimizer(trainer: TrainerView, what: str) -> torch.optim.Optimizer:
    if trainer.optimizer is None:
        raise CheckpointError(f"{what}: the trainer has no optimizer yet; call fit() first (or pass resume_from)")
    return trainer.optimizer


def state_groups(trainer: CheckpointedTrainer) -> dict[str, Any]:
    """Every tensor-bearing state of the run, grouped for :func:`forge.core._checkpoint.save_checkpoint`.

    Raises:
        CheckpointError: ``fit`` has not set up a model and optimizer yet.
    """
    optimizer = _optimizer(trainer, "Trainer.state_groups")
    groups: dict[str, Any] = {"model": trainer.unwrapped_model.state_dict(), "optimizer": optimizer.state_dict()}
    if trainer.scheduler is not None:
        groups["scheduler"] = trainer.scheduler.state_dict()
    if trainer.scaler is not None:
        groups["scaler"] = trainer.scaler.state_dict()
    callbacks: MutableMapping[str, Any] = {}
    trainer.manager.hook.on_save_checkpoint(trainer=trainer, state=callbacks)
    if callbacks:
        groups["callbacks"] = dict(callbacks)
    return groups


def trainer_state(trainer: CheckpointedTrainer, *, last_log_step: int, loader: Iterable[Any] | None) -> dict[str, Any]:
    """The JSON-able counters and data position that exact resume needs.

    Args:
        trainer: The trainer whose counters are saved.
        last_log_step: The last step written to the step log (the next log line starts after it).
        loader: The train loader; its ``state_dict()``, when it has one, is the data position.
    """
    return {
        "global_step": trainer.global_step,
        "epoch": trainer.epoch,
        "batch_in_epoch": trainer.batch_in_epoch,
        "skipped_steps": trainer.skipped_steps,
        "latest_metrics": trainer.latest_metrics,
        "history": trainer.history,
        "last_log_step": last_log_step,
        "loader": getattr(loader, "state_dict", lambda: None)(),
    }


def save(
    manager: CheckpointManager,
    trainer: TrainerView,
    groups: Mapping[str, Any],
    state: Mapping[str, Any],
    *,
    reason: str,
) -> Path:
    """Save a checkpoint of ``trainer`` at its global step through ``manager``, with the RNG state.

    Args:
        manager: Numbers, indexes and prunes the checkpoints.
        trainer: Gives the step, the config (recorded in the manifest) and the metrics ranking the checkpoint.
        groups: As :func:`state_groups` returns them.
        state: As :func:`trainer_state` returns it.
        reason: Recorded in the manifest ("periodic", "epoch_end", "last").

    Returns:
        The checkpoint directory.
    """
    manifest = {"trainer": dict(state), "reason": reason, "trainer_config": unstructure(trainer.config)}
    path: Path = manager.save(
        trainer.global_step, {**groups, "rng": capture_rng_state()}, manifest, trainer.latest_metrics
    )
    return path


def restore(trainer: CheckpointedTrainer, source: str | Path) -> dict[str, Any]:
    """Load the newest good checkpoint at ``source`` into ``trainer``.

    Restores weights, optimizer, scheduler, scaler and counters, then the callbacks' state
    (``on_load_checkpoint``), then the RNG state.

    Args:
        trainer: A trainer set up by ``fit`` (model and optimizer exist).
        source: A run directory (its newest good checkpoint) or a checkpoint directory.

    Returns:
        The saved trainer state (see :func:`trainer_state`).

    Raises:
        CheckpointError: nothing loadable at ``source``, or it does not match the model/optimizer.
    """
    optimizer = _optimizer(trainer, "Trainer.load_checkpoint")
    ckpt = find_checkpoint(Path(source), "last")
    groups, state = ckpt.groups, ckpt.manifest["trainer"]
    try:
        trainer.unwrapped_model.load_state_dict(groups["model"])
        optimizer.load_state_dict(groups["optimizer"])
        if trainer.scheduler is not None and "scheduler" in groups:
            trainer.scheduler.load_state_dict(groups["scheduler"])
        if trainer.scaler is not None and "scaler" in groups:
            trainer.scaler.load_state_dict(groups["scaler"])
    except (KeyError, RuntimeError, ValueError) as exc:
        raise CheckpointError(f"{source}: checkpoint does not match this model/optimizer: {exc}") from exc
    trainer.global_step = int(state["global_step"])
    trainer.epoch = int(state["epoch"])
    trainer.batch_in_epoch = int(state["batch_in_epoch"])
    trainer.skipped_steps = int(state["skipped_steps"])
    trainer.latest_metrics = dict(state["latest_metrics"])
    trainer.history = list(state["history"])
    trainer.manager.hook.on_load_checkpoint(trainer=trainer, state=groups.get("callbacks", {}))
    restore_rng_state(groups["rng"])
    return dict(state)
