"""Registrations of the trainer and its built-in callbacks (light: strings only, no torch)."""

from __future__ import annotations

from forge.core.hookspecs import Register

__all__ = ["register_callbacks", "register_trainers"]

_CB = "forge.core.trainer.callbacks"
_CFG = "forge.core.trainer._config"


def register_trainers(register: Register) -> None:
    """Register the default Trainer as ``core.default``.

    A trainer's builder is called as ``builder(config, *, callbacks=(), run_dir=None)`` and returns
    the trainer; the :class:`~forge.core.trainer._trainer.Trainer` class itself is one.
    """
    register(
        "default",
        builder="forge.core.trainer._trainer:Trainer",
        config=f"{_CFG}:TrainerConfig",
        summary="Trainer on accelerate: AMP, compile, accumulation, EMA, guards, exact resume",
        tags=("trainer",),
    )


def register_callbacks(register: Register) -> None:
    """Register the built-in callbacks."""
    register(
        "ema",
        builder=f"{_CB}._ema:build_ema",
        config=f"{_CFG}:EMAConfig",
        summary="EMA of the weights, saved in checkpoints",
    )
    register(
        "early_stopping",
        builder=f"{_CB}._early_stopping:build_early_stopping",
        config=f"{_CFG}:EarlyStoppingConfig",
        summary="Stop when a monitored metric stops improving",
    )
    register(
        "checkpoint",
        builder=f"{_CB}._checkpointing:build_checkpoint",
        config=f"{_CFG}:CheckpointConfig",
        summary="Checkpoints every N steps/epochs with retention",
    )
    register("progress", builder=f"{_CB}._progress:ProgressCallback", summary="Progress bar on interactive terminals")
    register(
        "profiler",
        builder=f"{_CB}._profiler:build_profiler",
        config=f"{_CFG}:ProfilerConfig",
        summary="torch.profiler window: Chrome trace + top operators",
    )
    register(
        "lr_monitor", builder=f"{_CB}._lr_monitor:LearningRateMonitor", summary="Log each param group's learning rate"
    )
