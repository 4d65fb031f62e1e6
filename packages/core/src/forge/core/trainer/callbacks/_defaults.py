"""The callbacks a Trainer runs with: its config's built-in features around the user's callbacks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from forge.core.trainer._config import TrainerConfig
from forge.core.trainer.callbacks._checkpointing import CheckpointCallback
from forge.core.trainer.callbacks._early_stopping import build_early_stopping
from forge.core.trainer.callbacks._ema import build_ema
from forge.core.trainer.callbacks._profiler import ProfilerCallback
from forge.core.trainer.callbacks._progress import ProgressCallback

__all__ = ["default_callbacks"]


def default_callbacks(
    config: TrainerConfig,
    *,
    run_dir: Path | None = None,
    checkpoints: bool = False,
    is_main_process: bool = True,
    user_callbacks: Sequence[object] = (),
) -> list[object]:
    """The callbacks of one ``fit``, in the order they run.

    EMA (``config.ema``), the profiler (``config.profiler``, with a run directory), the user's
    callbacks, early stopping (``config.early_stopping``), checkpointing (when checkpoints are
    written) and progress (``config.progress``: a bar on a terminal, plain lines
    otherwise; main process only).

    Args:
        config: The trainer configuration.
        run_dir: The run directory's path; the profiler writes into its ``profile/`` folder.
        checkpoints: Whether the trainer has somewhere to write checkpoints.
        is_main_process: Whether this process shows progress.
        user_callbacks: The callbacks given to the Trainer.

    Returns:
        The callbacks, first to run first.
    """
    callbacks: list[object] = []
    if config.ema is not None:
        callbacks.append(build_ema(config.ema))
    if config.profiler is not None and run_dir is not None:
        callbacks.append(ProfilerCallback(config.profiler, run_dir / "profile"))
    callbacks.extend(user_callbacks)
    if config.early_stopping is not None:
        callbacks.append(build_early_stopping(config.early_stopping))
    if checkpoints:
        callbacks.append(CheckpointCallback(config.checkpoint))
    if config.progress is not False and is_main_process:
        callbacks.append(
            ProgressCallback(
                bar=ProgressCallback.wanted(config.progress),
                every_s=config.progress_every_s,
                quiet=config.resolved().log_level not in ("debug", "info"),
            )
        )
    return callbacks
