"""Checkpoint save and resume of a training run.

What a checkpoint of a run holds: the state groups (model, optimizer, scheduler, scaler, the
callbacks' state, RNG) and the trainer state (counters, metrics history, data position) in the
manifest. Saving goes through a :class:`~forge.core._checkpoint.CheckpointManager` the Trainer is
handed (numbering and retention are the manager's); which checkpoint a source path means is
:func:`forge.core._run.find_checkpoint`'s decision.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import attrs

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

__all__ = [
    "CheckpointedTrainer",
    "Restored",
    "loader_position",
    "make_manager",
    "reshard_position",
    "restore",
    "save",
    "state_groups",
    "trainer_state",
]


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


def state_groups(trainer: CheckpointedTrainer, *, weights: bool = True) -> dict[str, Any]:
    """Every tensor-bearing state of the run, grouped for :func:`forge.core._checkpoint.save_checkpoint`.

    Args:
        trainer: The trainer whose state is saved.
        weights: Include the ``model`` and ``optimizer`` groups (an FSDP run writes them sharded instead).

    Raises:
        CheckpointError: ``fit`` has not set up a model and optimizer yet.
    """
    optimizer = _optimizer(trainer, "Trainer.state_groups")
    groups: dict[str, Any] = {}
    if weights:
        groups = {"model": trainer.unwrapped_model.state_dict(), "optimizer": optimizer.state_dict()}
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
        "loader": loader_position(loader),
    }


def loader_position(loader: Iterable[Any] | None) -> dict[str, Any] | None:
    """The train loader's resume position (its ``state_dict()``), or None when it keeps none.

    accelerate's distributed loaders have a ``state_dict`` only when built stateful (torchdata);
    otherwise calling it fails, and a resume replays the epoch's order up to the saved batch instead.
    """
    if loader is None or not hasattr(loader, "state_dict"):
        return None
    if type(loader).__module__.startswith("accelerate.") and not getattr(loader, "use_stateful_dataloader", False):
        return None
    state: dict[str, Any] | None = loader.state_dict()
    return state


def reshard_position(
    loader_state: dict[str, Any] | None,
    batch_in_epoch: int,
    saved_world: int,
    world: int,
    batch_size: int | None,
    *,
    where: Path,
) -> tuple[dict[str, Any] | None, int]:
    """Convert a data position saved by ``saved_world`` ranks for a resume on ``world`` ranks.

    Ranks take every ``world``-th sample of the epoch's order, so after each of ``saved_world``
    ranks consumed ``index`` samples the run had consumed the first ``index * saved_world``; on
    ``world`` ranks each resumes after ``index * saved_world / world`` of its own.

    Returns:
        The loader state and the batch count in the epoch for the new world size.

    Raises:
        CheckpointError: the checkpoint lies mid-epoch at a position ``world`` ranks cannot share
            evenly (resume on ``saved_world`` ranks, or from an epoch-end checkpoint).
    """
    if loader_state is None or not batch_in_epoch:
        return loader_state, batch_in_epoch
    consumed = int(loader_state["index"]) * saved_world
    if consumed % world:
        raise CheckpointError(
            f"{where}: saved mid-epoch by {saved_world} processes after {consumed} samples of epoch "
            f"{loader_state['epoch'] + 1}, which {world} processes cannot split evenly; resume with "
            f"{saved_world} processes, or from a checkpoint saved at an epoch end"
        )
    index = consumed // world
    batches = -(-index // batch_size) if batch_size else batch_in_epoch
    return {**loader_state, "index": index}, batches


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


@attrs.frozen
class Restored:
    """What :func:`restore` loaded, beyond what it put back into the trainer.

    Attributes:
        path: The checkpoint directory.
        state: The saved trainer state (see :func:`trainer_state`).
        groups: The checkpoint's state groups (``running_loss`` among them when saved).
        trainer_config: The trainer configuration the checkpoint was written under (unstructured).
    """

    path: Path
    state: dict[str, Any]
    groups: dict[str, Any]
    trainer_config: dict[str, Any]

    def planned_total_steps(self, steps_per_epoch: int | None) -> int | None:
        """The total steps the saved run's schedule was planned for (None when it had no total).

        Checkpoints written before forge-core 0.2 did not record it: it is recomputed from their
        ``max_steps``/``max_epochs`` and ``steps_per_epoch``.
        """
        if "schedule_total_steps" in self.state:
            total = self.state["schedule_total_steps"]
            return None if total is None else int(total)
        cfg = self.trainer_config
        if cfg.get("max_steps") is not None:
            return int(cfg["max_steps"])
        if steps_per_epoch is None or "max_epochs" not in cfg:
            return None
        return steps_per_epoch * int(cfg["max_epochs"] or 1)


def restore(
    trainer: CheckpointedTrainer,
    source: str | Path,
    *,
    sharded_ema: Callable[[], Mapping[str, torch.Tensor]] | None = None,
) -> Restored:
    """Load the newest good checkpoint at ``source`` into ``trainer``.

    Restores weights, optimizer, scheduler, scaler and counters, then the callbacks' state
    (``on_load_checkpoint``), then the RNG state.

    Args:
        trainer: A trainer set up by ``fit`` (model and optimizer exist).
        source: A run directory (its newest good checkpoint) or a checkpoint directory.
        sharded_ema: For a run keeping an EMA: gives the averages' tensors by their keys in a
            sharded checkpoint (see ``EMACallback.sharded_state``); when the checkpoint's shards
            hold them, they are loaded there in place, and the EMA callback is handed only its
            update count.

    Returns:
        The checkpoint's path, saved trainer state, groups and trainer configuration.

    Raises:
        CheckpointError: nothing loadable at ``source``, or it does not match the model/optimizer.
    """
    from forge.core.distributed._sharded import is_sharded

    optimizer = _optimizer(trainer, "Trainer.load_checkpoint")
    ckpt = find_checkpoint(Path(source), "last")
    groups, state = ckpt.groups, ckpt.manifest["trainer"]
    sharded = state.get("sharded")
    if sharded is not None:
        # An FSDP run's checkpoint: model and optimizer from the shards, on any world size and
        # sharding (a whole model in one process too); every rank reads its own slices.
        from forge.core.distributed._sharded import load_training_state, verify_digests

        if sharded.get("folder") != "sharded":
            raise CheckpointError(
                f"{ckpt.path}: its manifest names shards outside the checkpoint: {sharded.get('folder')!r}"
            )
        folder = ckpt.path / "sharded"
        verify_digests(folder, sharded["files"])
        extra = sharded_ema() if sharded_ema is not None and sharded.get("ema") else None
        load_training_state(folder, trainer.unwrapped_model, optimizer, sharded["optimizer"], extra=extra)
        if extra is not None and "ema" in groups.get("callbacks", {}):
            # The averages came from the shards (on every rank, any world size); the whole ones
            # beside them are for evaluation and export.
            callbacks = dict(groups["callbacks"])
            callbacks["ema"] = {k: v for k, v in callbacks["ema"].items() if k != "weights"}
            groups = {**groups, "callbacks": callbacks}
    elif is_sharded(trainer.unwrapped_model):
        raise CheckpointError(
            f"{ckpt.path}: written by a run without FSDP (whole optimizer state, no shards); resume it with "
            "trainer.distributed.strategy='ddp', or start the FSDP run from its weights"
        )
    try:
        if sharded is None:
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
    return Restored(
        path=ckpt.path,
        state=dict(state),
        groups=dict(groups),
        trainer_config=dict(ckpt.manifest.get("trainer_config") or {}),
    )
