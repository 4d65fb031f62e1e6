"""Trainer configuration: attrs classes only, no torch import (``forge info`` stays light).

One switch, :attr:`TrainerConfig.mode`, picks a coherent set of defaults:

=================== ============================== ==========================================
setting             ``research`` (default)         ``industrial``
=================== ============================== ==========================================
deterministic       False (fast kernels)           True (deterministic algorithms, cuBLAS ws)
log_level           "info"                         "warning" (quiet, JSON lines still written)
strict_validation   False (warn and go on)         True (a missing monitored metric is an error)
nan_check           "log" (checked when a log      "step" (checked every step: one device sync
                    line is due: no extra sync;    a step, which is the price of the guarantee)
                    "step" when nan_policy="skip")
=================== ============================== ==========================================

Every one of these can be set explicitly and then wins over the mode: see
:meth:`TrainerConfig.resolved`.
"""

from __future__ import annotations

from typing import Literal, get_args

import attrs

from forge.core.config import field
from forge.core.distributed._config import DistributedConfig

__all__ = [
    "CheckpointConfig",
    "EMAConfig",
    "EarlyStoppingConfig",
    "ProfilerConfig",
    "ResolvedSettings",
    "TrainerConfig",
]

Precision = Literal["fp32", "bf16", "fp16"]
CompileMode = Literal["off", "default", "reduce-overhead", "max-autotune"]
Device = Literal["auto", "cpu", "cuda"]
Normalization = Literal["micro_batches", "samples", "tokens"]
MonitorMode = Literal["min", "max"]
Mode = Literal["research", "industrial"]
NanPolicy = Literal["skip", "stop"]
NanCheck = Literal["step", "log"]
LogLevel = Literal["debug", "info", "warning", "error"]


_MAX_SEED = 2**32 - 1
"""The largest seed: Python, NumPy and torch all take seeds in ``[0, 2**32 - 1]``."""


@attrs.frozen
class EMAConfig:
    """Exponential moving average of the weights, kept beside the raw weights."""

    # 0 is allowed (the average is the latest weights); 1 would never move, as the EMA callback refuses.
    decay: float = field(0.999, help="EMA decay per update; the average forgets at rate 1 - decay.", ge=0, lt=1)
    warmup: int = field(
        0,
        help="Updates during which the decay is min(decay, (1 + n) / (10 + n)); 0 uses decay from the start.",
        ge=0,
    )
    every: int = field(1, help="Update the average every N optimizer steps.", ge=1)


@attrs.frozen
class EarlyStoppingConfig:
    """Stop training when a monitored metric stops improving."""

    monitor: str = field("val/loss", help="Logged metric to watch, e.g. 'val/loss' or 'val/accuracy'.", non_empty=True)
    mode: MonitorMode = field(
        "min", help="'min' when lower is better, 'max' when higher is better.", one_of=get_args(MonitorMode)
    )
    patience: int = field(3, help="Validations without improvement before stopping (0: at the first).", ge=0)
    min_delta: float = field(0.0, help="Smallest change that counts as an improvement.", ge=0)


@attrs.frozen
class CheckpointConfig:
    """When to write checkpoints and which ones to keep (needs a run directory or a Trainer's `checkpoints`)."""

    every_n_steps: int | None = field(None, help="Save every N optimizer steps; None saves at epoch ends only.", ge=1)
    every_n_epochs: int | None = field(1, help="Save every N epochs; None disables epoch-end saves.", ge=1)
    # At least 1: the newest checkpoint is what a resume starts from (CheckpointManager refuses 0).
    keep_last: int = field(2, help="How many of the newest checkpoints to keep.", ge=1)
    keep_best: int = field(1, help="How many of the best checkpoints (by monitor) to keep.", ge=0)
    monitor: str | None = field(
        "val/loss", help="Metric ranking checkpoints for keep_best; None keeps only the newest.", non_empty=True
    )
    mode: MonitorMode = field("min", help="'min' or 'max' for the monitored metric.", one_of=get_args(MonitorMode))
    save_last: bool = field(True, help="Save a checkpoint when training ends.")


@attrs.frozen
class ProfilerConfig:
    """A torch.profiler window, written as a Chrome trace and a top-operator summary."""

    wait: int = field(1, help="Optimizer steps to skip before the window.", ge=0)
    warmup: int = field(1, help="Steps profiled but discarded (warm caches).", ge=0)
    active: int = field(3, help="Steps recorded.", ge=1)
    record_memory: bool = field(True, help="Record tensor memory allocations.")
    with_stack: bool = field(False, help="Record Python stacks (larger traces).")
    top_k: int = field(20, help="Operators listed in the summary.", ge=1)


@attrs.frozen
class ResolvedSettings:
    """The mode-dependent settings after explicit values were applied over the mode's defaults."""

    deterministic: bool
    log_level: LogLevel
    strict_validation: bool
    nan_check: NanCheck


@attrs.frozen
class TrainerConfig:
    """Everything the default Trainer needs to know about a run."""

    max_epochs: int | None = field(10, help="Stop after this many epochs (None: only max_steps stops).", ge=1)
    max_steps: int | None = field(
        None, help="Stop after this many optimizer steps (None: only max_epochs stops).", ge=1
    )
    device: Device = field(
        "auto",
        help="Where to train: 'auto' (CUDA when available, placed by accelerate), 'cpu' or 'cuda'.",
        one_of=get_args(Device),
    )
    precision: Precision = field(
        "fp32",
        help="'fp32', 'bf16' (autocast) or 'fp16' (autocast with dynamic loss scaling).",
        one_of=get_args(Precision),
    )
    compile: CompileMode = field(
        "off", help="torch.compile mode for the model, or 'off'.", one_of=get_args(CompileMode)
    )
    accumulate_grad_batches: int = field(1, help="Micro-batches per optimizer step.", ge=1)
    accumulation_normalization: Normalization = field(
        "micro_batches",
        help="Weighting of accumulated micro-batch losses: equal ('micro_batches'), by 'samples' or by 'tokens'.",
        one_of=get_args(Normalization),
    )
    grad_clip_norm: float | None = field(None, help="Clip the global gradient norm to this value.", gt=0)
    grad_clip_value: float | None = field(None, help="Clamp every gradient element to [-v, v].", gt=0)
    ema: EMAConfig | None = field(None, help="Keep an EMA of the weights (None: off).")
    eval_with_ema: bool = field(False, help="Validate with the EMA weights instead of the raw ones.")
    val_every_n_steps: int | None = field(None, help="Validate every N optimizer steps.", ge=1)
    val_every_n_epochs: int | None = field(1, help="Validate every N epochs (None: not at epoch ends).", ge=1)
    early_stopping: EarlyStoppingConfig | None = field(None, help="Stop when a metric stops improving (None: off).")
    log_every_n_steps: int = field(50, help="Write a step log line every N optimizer steps.", ge=1)
    checkpoint: CheckpointConfig = field(factory=CheckpointConfig, help="Checkpoint schedule and retention.")
    nan_policy: NanPolicy = field(
        "stop",
        help="On a NaN/Inf loss or gradient: 'skip' the step and count it, or 'stop' with an error naming the step.",
        one_of=get_args(NanPolicy),
    )
    nan_check: NanCheck | None = field(
        None,
        help="When to look for NaN/Inf: every 'step' (one sync a step) or when a 'log' line is due; None follows mode.",
        one_of=get_args(NanCheck),
    )
    oom_auto_halve: bool = field(
        False, help="On CUDA out-of-memory, halve the micro-batch and double accumulation (same effective batch)."
    )
    seed: int = field(0, help="Seed for Python, NumPy, torch, CUDA and data-loader workers.", ge=0, le=_MAX_SEED)
    deterministic: bool | None = field(
        None, help="Deterministic algorithms and cuDNN/cuBLAS settings; None follows mode."
    )
    mode: Mode = field(
        "research",
        help="'research' or 'industrial': sets determinism, log level, strictness and guards together.",
        one_of=get_args(Mode),
    )
    strict_validation: bool | None = field(
        None, help="Treat a missing monitored metric or validation split as an error; None follows mode."
    )
    log_level: LogLevel | None = field(
        None, help="Console log verbosity; None follows mode.", one_of=get_args(LogLevel)
    )
    channels_last: bool = field(
        False, help="Keep the model and 4-D float input batches in channels_last memory format (faster CNNs on GPUs)."
    )
    gradient_checkpointing: bool = field(
        False, help="Ask the model to recompute activations in backward (models that support it)."
    )
    profiler: ProfilerConfig | None = field(None, help="Profile a window of steps (None: off).")
    progress: bool | None = field(
        None,
        help="Show progress: True a progress bar, False nothing; None a bar on an interactive terminal and "
        "plain progress lines (every progress_every_s seconds) otherwise.",
    )
    progress_every_s: float = field(
        30.0, help="Seconds between plain progress lines when output is not a terminal (0: after every step).", ge=0
    )
    distributed: DistributedConfig = field(
        factory=DistributedConfig,
        help="How the processes of a multi-process launch work together: DDP or FSDP, backend, timeout, "
        "DDP bucket size and graph settings (ignored in one process).",
    )

    def resolved(self) -> ResolvedSettings:
        """Apply the mode's defaults under any explicitly set value.

        Returns:
            The effective determinism, log level, validation strictness and NaN-check frequency.
        """
        industrial = self.mode == "industrial"
        return ResolvedSettings(
            deterministic=self.deterministic if self.deterministic is not None else industrial,
            log_level=self.log_level if self.log_level is not None else ("warning" if industrial else "info"),
            strict_validation=self.strict_validation if self.strict_validation is not None else industrial,
            # Skipping a bad step needs to know before the optimizer step, so "skip" checks every step.
            nan_check=self.nan_check
            if self.nan_check is not None
            else ("step" if industrial or self.nan_policy == "skip" else "log"),
        )
