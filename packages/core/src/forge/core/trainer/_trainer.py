"""The default Trainer: a lean step loop on :class:`accelerate.Accelerator`.

The hot path is written for per-step overhead close to a hand-written loop:

- no CPU-GPU synchronization of its own: the loss is accumulated on the device and read with
  ``.item()`` only when a log line is due (or every step when ``nan_check="step"`` asks for it);
- no per-step dicts or log records unless a log line is due;
- a hook is dispatched only when some callback implements it (checked once per ``fit``);
- the optimizer and scheduler are driven directly (one scheduler step per optimizer step, on every
  process), so accelerate's wrappers add nothing per step; accelerate provides the device, the
  process group, DDP wrapping and distributed loaders, and the Trainer applies autocast (bf16,
  fp16) and dynamic loss scaling (fp16) itself.

Throughput is counted on the host from batch shapes (samples, and tokens for integer inputs), so
watching a run costs no synchronization either. Ctrl-C only sets a flag: ``fit`` stops at the next
step boundary, saves a checkpoint and raises :class:`TrainingInterrupted`, so a half-done step is
never saved.

Around the loop: checkpoint save and resume are in :mod:`._checkpointing`, batch arithmetic in
:mod:`._batches`, the built-in callbacks in :func:`.callbacks.default_callbacks`.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import attrs
import torch
from torch import nn

from forge.core import _deprecated
from forge.core._checkpoint import CheckpointManager
from forge.core._logging import get_logger
from forge.core._run import RunDir
from forge.core.errors import ConfigError, ForgeError
from forge.core.trainer import _checkpointing
from forge.core.trainer._batches import (
    CountFn,
    count_samples,
    count_tokens,
    host_counts,
    split_window,
    window_weights,
)
from forge.core.trainer._config import ResolvedSettings, TrainerConfig
from forge.core.trainer._events import CallbackManager
from forge.core.trainer._finders import is_oom
from forge.core.trainer.callbacks import default_callbacks
from forge.core.trainer.callbacks._ema import EMACallback

__all__ = ["FitResult", "NonFiniteError", "Trainer", "TrainingInterrupted", "default_compute_loss"]

_log = get_logger("forge.trainer")

LossFn = Callable[..., torch.Tensor]
ComputeLoss = Callable[[nn.Module, Any, LossFn], torch.Tensor]


class NonFiniteError(ForgeError, FloatingPointError):
    """The loss or the gradients became NaN or Inf and ``nan_policy`` is ``"stop"``."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped ``fit`` after the step in progress; a checkpoint was saved when possible.

    A ``KeyboardInterrupt``, so code that lets Ctrl-C through still does.

    Attributes:
        step: Optimizer steps done when training stopped.
        epoch: Epochs completed then.
        checkpoint: The checkpoint holding that state (just saved, or saved at that very step
            before), or None when the trainer has nowhere to write checkpoints.
        resume_hint: How to continue (``forge train --resume RUN`` for recipe runs).
    """

    def __init__(self, step: int, epoch: int, checkpoint: Path | None, resume_hint: str) -> None:
        self.step, self.epoch, self.checkpoint, self.resume_hint = step, epoch, checkpoint, resume_hint
        super().__init__(self.message())

    def message(self) -> str:
        """One paragraph saying where training stopped, what was saved and how to go on."""
        where = f"training interrupted after step {self.step} ({self.epoch} epochs completed)"
        if self.checkpoint is None:
            return f"{where}; no checkpoint was saved (no step was trained, or the trainer has no run directory)"
        return f"{where}; checkpoint: {self.checkpoint}; resume with: {self.resume_hint}"


def default_compute_loss(model: nn.Module, batch: Any, loss_fn: LossFn) -> torch.Tensor:
    """Forward an ``(input, target)`` batch and return ``loss_fn(model(input), target)``.

    Args:
        model: The (prepared) model.
        batch: A ``(input, target)`` pair already on the device.
        loss_fn: The loss module or function.

    Returns:
        The scalar loss tensor.
    """
    x, y = batch
    out: torch.Tensor = loss_fn(model(x), y)
    return out


@attrs.define
class FitResult:
    """What ``fit`` reports when it returns.

    Attributes:
        global_step: Optimizer steps done (including resumed ones).
        epoch: Epochs completed.
        stop_reason: Why training ended ("max_steps", "max_epochs", "early_stopping", ...).
        skipped_steps: Steps skipped by the NaN/Inf guard.
        metrics: The latest validation metrics.
        history: Every validation's metrics, with their step and epoch.
    """

    global_step: int
    epoch: int
    stop_reason: str
    skipped_steps: int
    metrics: dict[str, float]
    history: list[dict[str, float]]


class Trainer:
    """Train a model with callbacks, accumulation, mixed precision, guards and exact resume.

    Args:
        config: The trainer configuration (defaults when None).
        callbacks: Extra callbacks, run in the place
            :func:`~forge.core.trainer.callbacks.default_callbacks` gives them among the built-in
            ones (see :mod:`forge.core.trainer._events`).
        run_dir: A :class:`forge.core._run.RunDir` (or a path to create one); enables the JSON-lines
            step log, and checkpoints in its ``checkpoints/`` folder unless ``checkpoints`` is given.
        checkpoints: Where checkpoints go (numbering and retention are the manager's); by default
            the run directory's, with ``config.checkpoint``'s retention. None and no run directory:
            no checkpoints.
        accelerator: An existing :class:`accelerate.Accelerator`; one is made from the config when None.
        compute_loss: ``f(model, batch, loss_fn) -> loss`` for batches that are not ``(input, target)``.
        count_fn: Counts samples or tokens of a micro-batch when ``accumulation_normalization`` is
            "samples" or "tokens" (defaults: first dimension of the input; targets != -100).

    Example:
        >>> trainer = Trainer(TrainerConfig(max_epochs=2))  # doctest: +SKIP
        >>> result = trainer.fit(model, train_loader, loss_fn=nn.CrossEntropyLoss(),
        ...                      optimizer=lambda m: torch.optim.SGD(m.parameters(), lr=0.1))  # doctest: +SKIP
    """

    def __init__(
        self,
        config: TrainerConfig | None = None,
        *,
        callbacks: Sequence[object] = (),
        run_dir: RunDir | str | os.PathLike[str] | None = None,
        checkpoints: CheckpointManager | None = None,
        accelerator: Any = None,
        compute_loss: ComputeLoss | None = None,
        count_fn: CountFn | None = None,
    ) -> None:
        self.config = config or TrainerConfig()
        self.settings: ResolvedSettings = self.config.resolved()
        if self.config.nan_policy == "skip" and self.settings.nan_check != "step":
            raise ConfigError(
                "trainer.nan_policy: 'skip' needs trainer.nan_check='step' "
                "(a step can only be skipped before it is applied)"
            )
        if self.config.max_epochs is None and self.config.max_steps is None:
            raise ConfigError("trainer: set max_epochs or max_steps (both are None, training would never end)")
        self.run_dir = run_dir if run_dir is None or isinstance(run_dir, RunDir) else RunDir.create(Path(run_dir))
        if checkpoints is None and self.run_dir is not None:
            checkpoints = _checkpointing.make_manager(self.run_dir.checkpoints_dir, self.config.checkpoint)
        self.checkpoints = checkpoints
        self._user_callbacks = list(callbacks)
        self._accelerator = accelerator
        self._compute_loss: ComputeLoss = compute_loss or default_compute_loss
        norm = self.config.accumulation_normalization
        self._count_fn: CountFn | None = count_fn or (
            count_samples if norm == "samples" else count_tokens if norm == "tokens" else None
        )
        # State visible to callbacks.
        self.global_step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self.should_stop = False
        self.stop_reason = ""
        self.skipped_steps = 0
        self.latest_metrics: dict[str, float] = {}
        self.history: list[dict[str, float]] = []
        self.model: nn.Module | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.scheduler: Any = None
        self.scaler: Any = None
        self.callbacks: list[object] = []
        self.manager = CallbackManager()
        self._loss_sum: torch.Tensor | None = None
        self._loss_steps = 0
        self._last_log_step = 0
        self._scheduler_factory: Any = None
        self._planned_total: int | None = None
        self._interrupted = False
        self._interrupt_agreed = False  # every rank learnt of the Ctrl-C and stops at the same step
        self._sigint_seen = False  # Ctrl-C reached this rank of a multi-process run (not yet agreed)
        self._stop_vote: tuple[Any, torch.Tensor] | None = None  # the pending all-reduce of the ranks' Ctrl-Cs
        self._saved_step = -1  # the step of the last save_checkpoint call, on every rank
        self._last_checkpoint: tuple[int, Path] | None = None
        self._in_epoch = False
        self._fetching = False  # waiting for the next training batch: the state is whole, between steps
        # Host-side throughput counters (shapes only: never a device read).
        self.samples_seen = 0
        self.tokens_seen = 0
        self._log_mark = (0.0, 0, 0)  # (time, samples, tokens) at the last step log line
        self._epoch_started = 0.0
        self._steps_per_epoch: int | None = None
        self._sched_metrics: dict[str, float] | None = None
        self._micro_split = 1
        self._last_val_step = -1
        self._loader_state: dict[str, Any] | None = None
        self._train_loader: Iterable[Any] | None = None
        self._device = torch.device("cpu")
        self._distributed = False
        self._fsdp = False  # the model is sharded with FSDP2 (strategy "fsdp" and a process group)
        self._sharded_checkpoints = False  # checkpoints in the FSDP layout (strategy "fsdp", any world size)
        self._val_loader: Iterable[Any] | None = None

    # ------------------------------------------------------------------ setup

    @property
    def accelerator(self) -> Any:
        """The :class:`accelerate.Accelerator` (made on first use)."""
        if self._accelerator is None:
            from accelerate import Accelerator

            from forge.core._logging import set_rank
            from forge.core.distributed._process import accelerator_kwargs, init_process_group

            # Precision is applied by the Trainer itself (autocast + GradScaler), not by accelerate:
            # accelerate's state is a process-wide singleton that refuses a second precision, and
            # Trainers with different precisions must be able to run in one process.
            device_type = "cuda" if torch.cuda.is_available() else "cpu"
            # forge joins the process group itself (backend, timeout, gloo barrier group); accelerate reuses it.
            joined = init_process_group(self.config.distributed, device_type)
            import torch.distributed as dist

            # A world of one (FSDP under torchrun --nproc-per-node 1) has a group but no other process.
            multi = joined and dist.get_world_size() > 1
            handlers = accelerator_kwargs(self.config.distributed, device_type, multi_process=multi)
            self._accelerator = Accelerator(cpu=device_type == "cpu", kwargs_handlers=handlers)
            set_rank(self._accelerator.process_index, self._accelerator.num_processes)
        return self._accelerator

    @property
    def device(self) -> torch.device:
        """The device training runs on."""
        return self._device

    @property
    def unwrapped_model(self) -> nn.Module:
        """The model without DDP/compile wrappers (the one whose state is checkpointed)."""
        if self.model is None:
            raise ForgeError("Trainer.unwrapped_model: no model yet; call fit() first")
        model: nn.Module = self.accelerator.unwrap_model(self.model)
        return getattr(model, "_orig_mod", model)

    @property
    def steps_per_epoch(self) -> int | None:
        """Optimizer steps per epoch, when the train loader has a length; None before ``fit``."""
        return self._steps_per_epoch

    def _register_callbacks(self) -> None:
        self.manager = CallbackManager()
        self.callbacks = default_callbacks(
            self.config,
            run_dir=None if self.run_dir is None else self.run_dir.path,
            checkpoints=self.checkpoints is not None,
            is_main_process=self.accelerator.is_main_process,
            user_callbacks=self._user_callbacks,
        )
        # pluggy calls the most recently registered implementation first.
        for cb in reversed(self.callbacks):
            self.manager.register(cb, name=f"{type(cb).__name__}-{id(cb)}")
        hook = self.manager.hook
        self._h_step_start = hook.on_step_start if self.manager.implements("on_step_start") else None
        self._h_before_bw = hook.on_before_backward if self.manager.implements("on_before_backward") else None
        self._h_after_bw = hook.on_after_backward if self.manager.implements("on_after_backward") else None
        self._h_before_opt = (
            hook.on_before_optimizer_step if self.manager.implements("on_before_optimizer_step") else None
        )
        self._h_step_end = hook.on_step_end if self.manager.implements("on_step_end") else None

    @property
    def _chatty(self) -> bool:
        return self.settings.log_level in ("debug", "info")

    @property
    def epoch_label(self) -> int:
        """The epoch number every log line carries: counted from 1, the epoch in progress or just completed."""
        return self.epoch + 1 if self._in_epoch or self.batch_in_epoch else self.epoch

    def callback(self, kind: type[Any]) -> Any:
        """The first registered callback that is an instance of ``kind``, or None."""
        return next((cb for cb in self.callbacks if isinstance(cb, kind)), None)

    def _resolve_device(self) -> torch.device:
        wanted = self.config.device
        placed: torch.device = self.accelerator.device
        if wanted == "auto":
            return placed
        if wanted == "cuda" and not torch.cuda.is_available():
            raise ConfigError("trainer.device: 'cuda' asked for, but torch sees no CUDA device here")
        if self._distributed and wanted != placed.type:
            raise ConfigError(f"trainer.device: {wanted!r} conflicts with the distributed launch on {placed}")
        return placed if self._distributed else torch.device(wanted)

    def _prepare_model(self, model: nn.Module) -> nn.Module:
        if self.config.gradient_checkpointing:
            # forge models expose set_gradient_checkpointing(bool); Hugging Face-style ones an enable method
            setter = getattr(model, "set_gradient_checkpointing", None)
            enable = getattr(model, "enable_gradient_checkpointing", None) or getattr(
                model, "gradient_checkpointing_enable", None
            )
            if setter is not None:
                setter(True)
            elif enable is not None:
                enable()
            else:
                msg = f"trainer.gradient_checkpointing: {type(model).__name__} has no set_gradient_checkpointing()"
                if self.settings.strict_validation:
                    raise ConfigError(msg)
                _log.warning("gradient_checkpointing_unsupported", model=type(model).__name__)
        if self.config.channels_last:
            model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch documents memory_format; its stubs omit it
        if self._fsdp:
            prepared = self._shard(model)
        elif self.config.device == "auto" or self._distributed:
            prepared = self.accelerator.prepare_model(model)
        else:
            prepared = model.to(self._device)
        if self.config.compile != "off":
            compiled: nn.Module = torch.compile(prepared, mode=self.config.compile)  # type: ignore[assignment]  # compile returns a callable module wrapper
            prepared = compiled
        return prepared

    def _shard(self, model: nn.Module) -> nn.Module:
        """Shard ``model`` with FSDP2 instead of wrapping it in DDP (strategy "fsdp").

        FSDP2 is applied here, before and instead of ``accelerator.prepare_model``, not through
        accelerate's ``FullyShardedDataParallelPlugin(fsdp_version=2)``: the plugin ties sharding to
        accelerate's mixed-precision state (a process-wide singleton the Trainer stays out of, see
        :attr:`accelerator`) and to ``accelerator.prepare(optimizer)``, while the Trainer drives
        its optimizer, autocast and loss scaling itself; ``fully_shard`` needs neither, runs on
        CPU/gloo as on NCCL, and leaves a plain module (no wrapper) whose optimizer is built after.
        Gradient checkpointing was switched on by the caller first, so each block recomputes its
        activations inside its own all-gather.
        """
        import torch.distributed as dist

        from forge.core.distributed._fsdp import shard_model

        model = model.to(self._device)
        if dist.get_world_size() > 1:
            # fully_shard keeps each rank's own slice of its own weights: start every rank from
            # rank 0's (as DDP does), so a model built with unseeded randomness still agrees.
            with torch.no_grad():
                for tensor in [*model.parameters(), *model.buffers()]:
                    dist.broadcast(tensor.data, src=0)
        return shard_model(model, self.config.distributed.fsdp)

    def _fsdp_module(self) -> Any:
        """The FSDP2-sharded root module, or None when the model is not sharded."""
        if not self._fsdp:
            return None
        from torch.distributed.fsdp import FSDPModule

        model = self.unwrapped_model
        return model if isinstance(model, FSDPModule) else None

    def _prepare_loader(self, loader: Iterable[Any] | None) -> Iterable[Any] | None:
        if loader is None or self.accelerator.num_processes == 1:
            # Single process: keep the user's loader (and its sampler) so its order is reproducible;
            # batches are moved to the device by the step loop.
            return loader
        if not isinstance(loader, torch.utils.data.DataLoader):
            # accelerate shards DataLoaders only; any other iterable is taken as this rank's own batches.
            return loader
        if _shards_itself(loader, self.accelerator.num_processes):
            # A forge loader built for this rank (build_loader(rank=, world_size=)) already holds
            # its slice of every batch and a resumable position; accelerate would shard it again
            # and hide its state_dict.
            return loader
        prepared: Iterable[Any] = self.accelerator.prepare_data_loader(loader)
        return prepared

    def _prepare_eval_loader(self, loader: Iterable[Any] | None) -> Iterable[Any] | None:
        """Shard a validation loader: a plain DataLoader gets a ``DistributedSampler`` in order.

        accelerate's sharding pads the last batches with repeats it does not report per rank, so a
        plain map-style DataLoader is rebuilt over torch's sampler instead, whose padding
        :func:`_real_samples` knows (validation then counts every sample once).
        """
        world = self.accelerator.num_processes
        if (
            world == 1
            or type(loader) is not torch.utils.data.DataLoader
            or isinstance(loader.dataset, torch.utils.data.IterableDataset)
            or loader.batch_size is None
            or not isinstance(loader.sampler, torch.utils.data.SequentialSampler)
        ):
            return self._prepare_loader(loader)
        sampler: torch.utils.data.DistributedSampler[Any] = torch.utils.data.DistributedSampler(
            loader.dataset, num_replicas=world, rank=self.accelerator.process_index, shuffle=False
        )
        return torch.utils.data.DataLoader(
            loader.dataset,
            batch_size=loader.batch_size,
            sampler=sampler,
            num_workers=loader.num_workers,
            collate_fn=loader.collate_fn,
            pin_memory=loader.pin_memory,
        )

    def _make_optimizer(self, optimizer: Any, model: nn.Module) -> torch.optim.Optimizer:
        if isinstance(optimizer, torch.optim.Optimizer):
            return optimizer
        if callable(optimizer):
            opt = optimizer(model)
            if not isinstance(opt, torch.optim.Optimizer):
                raise ConfigError(f"optimizer factory returned {type(opt).__name__}, expected a torch.optim.Optimizer")
            return opt
        raise ConfigError(
            f"optimizer: expected an Optimizer or a factory model -> Optimizer, got {type(optimizer).__name__}"
        )

    def _total_steps(self, loader: Iterable[Any]) -> int | None:
        try:
            n = len(loader)  # type: ignore[arg-type]  # iterable loaders may have no length
        except TypeError:
            n = None
        per_epoch = self._steps_per_epoch = None if n is None else math.ceil(n / self.config.accumulate_grad_batches)
        if self.config.max_steps is not None:
            return self.config.max_steps
        return None if per_epoch is None else per_epoch * (self.config.max_epochs or 1)

    def _make_scheduler(self, scheduler: Any, optimizer: torch.optim.Optimizer, total: int | None) -> Any:
        if scheduler is None or hasattr(scheduler, "step") and hasattr(scheduler, "state_dict"):
            return scheduler
        if callable(scheduler):
            if total is None:
                raise ConfigError(
                    "scheduler: the train loader has no length; set trainer.max_steps so the schedule knows its total"
                )
            return scheduler(optimizer, total)
        raise ConfigError(
            f"scheduler: expected a scheduler or a factory (optimizer, total_steps), got {type(scheduler).__name__}"
        )

    # ------------------------------------------------------------------ fit

    def fit(
        self,
        model: nn.Module,
        train_loader: Iterable[Any],
        *,
        loss_fn: LossFn,
        optimizer: Any,
        scheduler: Any = None,
        val_loader: Iterable[Any] | None = None,
        metrics: Mapping[str, Any] | None = None,
        resume_from: str | Path | None = None,
    ) -> FitResult:
        """Train ``model`` until max_epochs/max_steps, early stopping or an error.

        Args:
            model: The model to train (moved to the device in place).
            train_loader: An iterable of batches (usually a DataLoader).
            loss_fn: ``loss_fn(output, target) -> scalar tensor`` (mean-reduced for correct accumulation).
            optimizer: An Optimizer over ``model``'s parameters, or a factory ``model -> Optimizer``.
            scheduler: None, a scheduler with ``step()``/``state_dict()``, or a factory
                ``(optimizer, total_steps) -> scheduler``. Stepped once per optimizer step.
            val_loader: Validation batches (needed for validation, early stopping and best checkpoints).
            metrics: Name -> torchmetrics-like object (``update(preds, target)``, ``compute()``, ``reset()``).
            resume_from: A run directory or checkpoint directory to continue from exactly.

        Returns:
            A :class:`FitResult`.

        Raises:
            NonFiniteError: NaN/Inf met with ``nan_policy="stop"`` (the message names the step).
            ConfigError: inconsistent settings (e.g. a monitored metric that is never logged, when strict).
            CheckpointError: ``resume_from`` holds no loadable checkpoint.
        """
        from forge.core._reproducibility import configure_determinism, seed_everything
        from forge.core.distributed._env import rank_seed

        cfg = self.config
        # The accelerator is made before seeding, so whatever randomness its setup uses cannot shift the run's.
        self._distributed = self.accelerator.num_processes > 1
        self._device = self._resolve_device()
        from forge.core.distributed._process import is_initialized

        self._sharded_checkpoints = cfg.distributed.strategy == "fsdp"
        # A plain single process (no launcher) trains the same recipe unsharded, in the same checkpoint layout.
        self._fsdp = self._sharded_checkpoints and is_initialized()
        if self._fsdp and isinstance(optimizer, torch.optim.Optimizer):
            raise ConfigError(
                "trainer.distributed.strategy='fsdp': pass the optimizer as a factory (model -> Optimizer); "
                "sharding replaces the model's parameters, so an optimizer built before fit() holds stale ones"
            )
        configure_determinism(self.settings.deterministic)
        seed_everything(cfg.seed)
        self.model = self._prepare_model(model)
        rank = self.accelerator.process_index
        if self._distributed and rank != 0:
            # After DDP copied rank 0's weights: each rank draws its own dropout and noise (rank 0 keeps the seed).
            seed_everything(rank_seed(cfg.seed, rank))
        self.optimizer = self._make_optimizer(optimizer, self.unwrapped_model)
        loader = self._prepare_loader(train_loader)
        assert loader is not None  # a train loader is a required argument
        self._train_loader = loader
        self._val_loader = self._prepare_eval_loader(val_loader)
        self._loss_fn = loss_fn
        self._metrics = {k: (m.to(self.device) if hasattr(m, "to") else m) for k, m in (metrics or {}).items()}
        if hasattr(loss_fn, "to"):
            loss_fn.to(self.device)
        total = self._planned_total = self._total_steps(loader)
        self._scheduler_factory = scheduler if _is_factory(scheduler) else None
        self.scheduler = self._make_scheduler(scheduler, self.optimizer, total)
        self.scaler = None
        if cfg.precision == "fp16":
            self.scaler = torch.amp.GradScaler(self.device.type)
        if cfg.early_stopping is not None and val_loader is None and self.settings.strict_validation:
            raise ConfigError("trainer.early_stopping: needs a validation split, but there is none")
        self.global_step = self.epoch = self.batch_in_epoch = self.skipped_steps = 0
        self.should_stop, self.stop_reason = False, ""
        self.latest_metrics, self.history = {}, []
        self._loss_sum, self._loss_steps, self._last_log_step = None, 0, 0
        self._interrupted, self._last_checkpoint, self._in_epoch = False, None, False
        self._interrupt_agreed, self._sigint_seen, self._stop_vote, self._saved_step = False, False, None, -1
        self.samples_seen = self.tokens_seen = 0
        self._register_callbacks()
        if resume_from is not None:
            self.load_checkpoint(resume_from)
        self._announce(model, loader, resumed=resume_from is not None)
        hook = self.manager.hook
        release_sigint = self._catch_sigint()
        try:
            hook.on_train_start(trainer=self)
            self._epoch_started = time.perf_counter()
            self._log_mark = (self._epoch_started, self.samples_seen, self.tokens_seen)
            self._train(loader)
            self._close_vote()
            if self._interrupted:
                raise self._interruption()
            if self._distributed:
                # Leave together, once rank 0's last checkpoint is written; a rank that failed is named.
                from forge.core.distributed._process import barrier

                barrier("end of training", cfg.distributed.timeout_s)
        except BaseException as exc:
            if self._interrupted and self._fetching and not isinstance(exc, TrainingInterrupted):
                # Ctrl-C from a terminal also reaches DataLoader workers, which exit on it, so the
                # loader fails while the next batch is fetched: between steps, where the state is whole.
                interrupted = self._interruption()
                hook.on_exception(trainer=self, exception=interrupted)
                raise interrupted from exc
            hook.on_exception(trainer=self, exception=exc)
            raise
        finally:
            self._fetching = False
            release_sigint()
            hook.on_train_end(trainer=self)
        return FitResult(
            global_step=self.global_step,
            epoch=self.epoch,
            stop_reason=self.stop_reason,
            skipped_steps=self.skipped_steps,
            metrics=dict(self.latest_metrics),
            history=list(self.history),
        )

    def _announce(self, model: nn.Module, loader: Iterable[Any], *, resumed: bool) -> None:
        """The start banner: what trains, where, how fast it can go and where it is written."""
        cfg = self.config
        if not self._chatty:
            return
        params = sum(p.numel() for p in model.parameters())
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        banner: dict[str, Any] = {
            "model": type(model).__name__,
            "parameters": params,
            "trainable": trainable,
            "device": str(self.device),
            "precision": cfg.precision,
            "compile": cfg.compile,
            "train_samples": _dataset_size(loader),
            "val_samples": _dataset_size(self._val_loader),
            "steps_per_epoch": self._steps_per_epoch,
            "total_steps": self._planned_total,
            "max_epochs": cfg.max_epochs,
            "max_steps": cfg.max_steps,
            "run_dir": None if self.run_dir is None else str(self.run_dir.path),
        }
        if resumed:
            banner.update(resumed_at_step=self.global_step, resumed_in_epoch=self.epoch_label)
        _log.info("train_start", **banner)
        if cfg.compile != "off":
            _log.info(
                "compiling",
                mode=cfg.compile,
                note="torch.compile compiles on the first steps, which can take a minute without output",
            )
        _log.debug(
            "trainer_settings",
            **attrs.asdict(self.settings),
            accumulate_grad_batches=cfg.accumulate_grad_batches,
            log_every_n_steps=cfg.log_every_n_steps,
            val_every_n_steps=cfg.val_every_n_steps,
            val_every_n_epochs=cfg.val_every_n_epochs,
            checkpoints=None if self.checkpoints is None else str(self.checkpoints.root),
            callbacks=[type(cb).__name__ for cb in self.callbacks],
            loader=type(loader).__name__,
            scheduler=None if self.scheduler is None else type(self.scheduler).__name__,
        )

    def _catch_sigint(self) -> Callable[[], None]:
        """Turn the first Ctrl-C into a stop at the next step boundary; returns the undo.

        Only when Ctrl-C has Python's default handler and this is the main thread (elsewhere a
        handler cannot be installed, or the application has its own). The handler only sets flags:
        the state of a half-done step is never saved, and a second Ctrl-C interrupts at once.
        """
        if (
            threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        ):
            return lambda: None

        def on_sigint(signum: int, frame: Any) -> None:
            if self._distributed:
                # Every rank must stop at the same step (a checkpoint is a collective): the ranks
                # agree through _vote_on_stop, one step later, wherever the signal arrived.
                self._sigint_seen = True
            else:
                self._interrupted = True
                self.should_stop = True
            signal.signal(signal.SIGINT, signal.default_int_handler)

        signal.signal(signal.SIGINT, on_sigint)

        def release() -> None:
            if signal.getsignal(signal.SIGINT) is on_sigint:
                signal.signal(signal.SIGINT, signal.default_int_handler)

        return release

    def _vote_on_stop(self) -> None:
        """Ctrl-C in a multi-process run: every rank stops after the same step.

        Each step end starts an all-reduce (gloo, asynchronous: the step does not wait for it) of
        whether this rank saw Ctrl-C, and reads the previous step's result; once any rank saw it,
        all stop after this step, so the interrupted checkpoint (a collective) is written together.
        """
        import torch.distributed as dist

        from forge.core.distributed._process import _gloo_group

        pending = self._stop_vote
        if pending is not None:
            pending[0].wait()
            if int(pending[1].item()) > 0:
                self._interrupted = self.should_stop = self._interrupt_agreed = True
        flag = torch.tensor([int(self._sigint_seen)], dtype=torch.int32)
        self._stop_vote = (dist.all_reduce(flag, group=_gloo_group(), async_op=True), flag)

    def _close_vote(self) -> None:
        """Wait for the last step's vote (every rank started it) before the ranks part."""
        pending, self._stop_vote = self._stop_vote, None
        if pending is not None:
            pending[0].wait()

    def _interruption(self) -> TrainingInterrupted:
        """Save the state reached by Ctrl-C (unless a checkpoint of it exists) and describe it."""
        path: Path | None = None
        if self._saved_step == self.global_step:
            # Decided alike on every rank (a distributed save is a collective); rank 0 knows the path.
            path = self._last_checkpoint[1] if self._last_checkpoint is not None else None
        elif self.global_step > 0:
            path = self.save_checkpoint(reason="interrupted")
        where = self.run_dir.path if self.run_dir is not None else path
        hint = f"Trainer.fit(..., resume_from={str(where)!r})"
        _log.warning(
            "training_interrupted",
            step=self.global_step,
            epoch=self.epoch_label,
            checkpoint=None if path is None else str(path),
        )
        return TrainingInterrupted(self.global_step, self.epoch, path, hint)

    def _done(self) -> bool:
        cfg = self.config
        if self.should_stop:
            return True
        if cfg.max_steps is not None and self.global_step >= cfg.max_steps:
            self.stop_reason = "max_steps"
            return True
        if cfg.max_epochs is not None and self.epoch >= cfg.max_epochs:
            self.stop_reason = "max_epochs"
            return True
        return False

    def _seed_epoch(self, loader: Iterable[Any], epoch: int) -> None:
        """Make the epoch's order a pure function of (seed, epoch), so a resumed epoch replays it.

        A dataset with ``set_epoch`` (forge-vision's datasets draw seeded augmentations from
        ``(seed, epoch, sample index)``) is told the epoch too.
        """
        _set_dataset_epoch(loader, epoch)
        if hasattr(loader, "set_epoch"):
            # forge loaders (forge.core.data.build_loader) reseed their own sampler and workers.
            loader.set_epoch(epoch)
            return
        seed = (self.config.seed * 1_000_003 + epoch) % (2**63)
        sampler = getattr(loader, "sampler", None)
        batch_sampler = getattr(loader, "batch_sampler", None)
        for s in (sampler, getattr(batch_sampler, "sampler", None), batch_sampler):
            if s is not None and hasattr(s, "set_epoch"):
                s.set_epoch(epoch)
        if isinstance(loader, torch.utils.data.DataLoader):
            if loader.generator is None:
                loader.generator = torch.Generator()
            loader.generator.manual_seed(seed)
            if isinstance(sampler, torch.utils.data.RandomSampler) and sampler.generator is None:
                sampler.generator = loader.generator

    def _train(self, loader: Iterable[Any]) -> None:
        hook = self.manager.hook
        cfg = self.config
        while not self._done():
            epoch = self.epoch
            self._epoch_started = time.perf_counter()
            hook.on_epoch_start(trainer=self, epoch=epoch)
            self._seed_epoch(loader, epoch)
            resumable = self._loader_state is not None and hasattr(loader, "load_state_dict")
            if self.batch_in_epoch and resumable:
                # The loader skips the consumed samples without reading them.
                loader.load_state_dict(self._loader_state)  # type: ignore[attr-defined]  # checked by hasattr
            self._loader_state = None
            it: Iterator[Any] = iter(loader)
            if self.batch_in_epoch and not resumable:
                # Resuming mid-epoch: replay the epoch's order and drop what was already trained on.
                for _ in islice(it, self.batch_in_epoch):
                    pass
            self._in_epoch = True
            self._run_epoch(it)
            if self._interrupted:
                # Ctrl-C: stop at this step boundary, the epoch still open (fit saves and raises).
                return
            if self.should_stop or (cfg.max_steps is not None and self.global_step >= cfg.max_steps):
                if not self.stop_reason:
                    self.stop_reason = "max_steps" if not self.should_stop else "stopped"
                if self.batch_in_epoch and not self.should_stop:
                    # max_steps ended mid-epoch: the epoch is not complete.
                    break
            self.epoch = epoch + 1
            self.batch_in_epoch = 0
            self._in_epoch = False
            if self._chatty:
                elapsed = time.perf_counter() - self._epoch_started
                _log.info("epoch_end", epoch=self.epoch, step=self.global_step, epoch_time_s=round(elapsed, 3))
            if (
                cfg.val_every_n_epochs is not None
                and self.epoch % cfg.val_every_n_epochs == 0
                and self._last_val_step != self.global_step  # a step validation just ran on these weights
            ):
                self._validate_and_notify()
            hook.on_epoch_end(trainer=self, epoch=epoch)
        if not self._interrupted:
            self._flush_log()

    def _run_epoch(self, it: Iterator[Any]) -> None:
        k = self.config.accumulate_grad_batches
        max_steps = self.config.max_steps
        if k == 1 and self._count_fn is None:
            # The common case gets its own loop: no window list, no loss weights.
            self._fetching = True
            for batch in it:
                self._fetching = False
                self.batch_in_epoch += 1
                samples, tokens = host_counts(batch)
                self.samples_seen += samples
                self.tokens_seen += tokens
                self._step((batch,), None)
                if self.should_stop or (max_steps is not None and self.global_step >= max_steps):
                    return
                self._fetching = True
            self._fetching = False
            return
        while True:
            # Not marked as fetching: a window cut short by a failing loader has consumed part of
            # its batches, which a checkpoint could not place.
            window = list(islice(it, k))
            if not window:
                return
            self.batch_in_epoch += len(window)
            for batch in window:
                samples, tokens = host_counts(batch)
                self.samples_seen += samples
                self.tokens_seen += tokens
            self._step(window, window_weights(window, self._count_fn, to_device=self._to_device, device=self._device))
            if self.should_stop or (max_steps is not None and self.global_step >= max_steps):
                return

    def _to_device(self, batch: Any) -> Any:
        dev = self._device
        if isinstance(batch, torch.Tensor):
            if self.config.channels_last and batch.dim() == 4 and batch.is_floating_point():
                return batch.to(dev, memory_format=torch.channels_last, non_blocking=True)
            return batch if batch.device == dev else batch.to(dev, non_blocking=True)
        if isinstance(batch, (tuple, list)):
            return type(batch)(self._to_device(b) for b in batch)
        if isinstance(batch, Mapping):
            return {k: self._to_device(v) for k, v in batch.items()}
        return batch

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        p = self.config.precision
        if p == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if p == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def _step(self, window: Sequence[Any], weights: list[Any] | None) -> None:
        if self._h_step_start is not None:
            self._h_step_start(trainer=self)
        if self._micro_split == 1 and not self.config.oom_auto_halve:
            self._run_window(window, weights)
            return
        while True:
            parts, part_weights = split_window(window, weights, self._micro_split)
            try:
                self._run_window(parts, part_weights)
                return
            except Exception as exc:
                if not self.config.oom_auto_halve or not is_oom(exc):
                    raise
                assert self.optimizer is not None
                self.optimizer.zero_grad(set_to_none=True)
                if self._device.type == "cuda":
                    torch.cuda.empty_cache()
                smallest = min(count_samples(b) for b in window)
                if self._micro_split * 2 > smallest:
                    raise
                self._micro_split *= 2
                _log.warning(
                    "oom_micro_batch_halved",
                    step=self.global_step + 1,
                    split=self._micro_split,
                    micro_batch=math.ceil(smallest / self._micro_split),
                    accumulation=len(window) * self._micro_split,
                )

    def _run_window(self, window: Sequence[Any], weights: list[Any] | None) -> None:
        model, opt = self.model, self.optimizer
        assert model is not None and opt is not None  # set by fit()
        fp32 = self.config.precision == "fp32"
        scaler = self.scaler
        step_loss: torch.Tensor | None = None
        last = len(window) - 1
        sharded = self._fsdp_module() if last > 0 else None
        for i, batch in enumerate(window):
            batch = self._to_device(batch)
            if sharded is not None:
                # FSDP2: accumulate unsharded local gradients and keep the gathered weights until the
                # last micro-batch, which reduce-scatters the sum once (no per-micro-batch resharding).
                sharded.set_requires_gradient_sync(i == last)
                sharded.set_reshard_after_backward(i == last)
            sync_ctx = (
                self.accelerator.no_sync(model)
                if i < last and self._distributed and not self._fsdp
                else contextlib.nullcontext()
            )
            with sync_ctx:
                if fp32:
                    loss = self._compute_loss(model, batch, self._loss_fn)
                else:
                    with self._autocast():
                        loss = self._compute_loss(model, batch, self._loss_fn)
                if weights is not None:
                    loss = loss * weights[i]
                if self._h_before_bw is not None:
                    self._h_before_bw(trainer=self, loss=loss)
                if scaler is not None:
                    scaler.scale(loss).backward()
                else:
                    loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
                if self._h_after_bw is not None:
                    self._h_after_bw(trainer=self)
            detached = loss.detach()
            step_loss = detached if step_loss is None else step_loss + detached
        assert step_loss is not None  # windows are never empty
        self._optimizer_step(opt, step_loss)

    def _optimizer_step(self, opt: torch.optim.Optimizer, step_loss: torch.Tensor) -> None:
        cfg = self.config
        scaler = self.scaler
        check = self.settings.nan_check == "step"
        if scaler is not None and (
            cfg.grad_clip_norm is not None or cfg.grad_clip_value is not None or self._h_before_opt is not None
        ):
            scaler.unscale_(opt)
        if self._h_before_opt is not None:
            self._h_before_opt(trainer=self, optimizer=opt)
        grad_norm: torch.Tensor | None = None
        if cfg.grad_clip_norm is not None or check:
            params = [p for g in opt.param_groups for p in g["params"] if p.grad is not None]
            if cfg.grad_clip_norm is not None:
                grad_norm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip_norm)
            elif scaler is None:
                grad_norm = torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])
            if cfg.grad_clip_value is not None:
                torch.nn.utils.clip_grad_value_(params, cfg.grad_clip_value)
        elif cfg.grad_clip_value is not None:
            torch.nn.utils.clip_grad_value_([p for g in opt.param_groups for p in g["params"]], cfg.grad_clip_value)
        if grad_norm is not None and hasattr(grad_norm, "full_tensor"):
            # FSDP2's gradients are DTensors: clip_grad_norm_ returns the global norm as a replicated DTensor.
            grad_norm = grad_norm.full_tensor()
        step = self.global_step + 1
        if check:
            # The one synchronization nan_check="step" pays for; fp16 inf gradients are the scaler's job.
            bad = ~torch.isfinite(step_loss)
            if grad_norm is not None and scaler is None:
                bad = bad | ~torch.isfinite(grad_norm)
            if self._distributed:
                # Every rank skips or stops together: a step skipped on one rank alone would desync DDP.
                bad = self.accelerator.reduce(bad.to(torch.int32), reduction="sum") > 0
            if bool(bad):
                self._non_finite(opt, step, "loss or gradients")
                return
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        opt.zero_grad(set_to_none=True)
        sched = self.scheduler
        if sched is not None:
            # One scheduler step per optimizer step, on every process (never num_processes steps).
            if self._sched_metrics is not None:
                sched.step(self._sched_metrics)
                self._sched_metrics = None
            else:
                sched.step()
        self.global_step = step
        if self._distributed:
            self._vote_on_stop()
        self._loss_sum = step_loss if self._loss_sum is None else self._loss_sum + step_loss
        self._loss_steps += 1
        if self._h_step_end is not None:
            self._h_step_end(trainer=self, loss=step_loss)
        if step % cfg.log_every_n_steps == 0:
            self._flush_log()
        if cfg.val_every_n_steps is not None and step % cfg.val_every_n_steps == 0:
            self._validate_and_notify()

    def _non_finite(self, opt: torch.optim.Optimizer, step: int, what: str) -> None:
        where = f"step {step} (epoch {self.epoch_label}, batch {self.batch_in_epoch})"
        if self.config.nan_policy == "stop":
            raise NonFiniteError(
                f"non-finite {what} at optimizer {where}; lower the learning rate, enable grad_clip_norm, "
                "or set trainer.nan_policy='skip'"
            )
        opt.zero_grad(set_to_none=True)
        self.skipped_steps += 1
        _log.warning("non_finite_step_skipped", step=step, epoch=self.epoch_label, skipped=self.skipped_steps)

    def is_validation_due(self) -> bool:
        """Whether validation runs right after the current optimizer step."""
        n = self.config.val_every_n_steps
        return n is not None and self.global_step % n == 0 and self._val_loader is not None

    def _flush_log(self) -> None:
        """Write a step log line: the only place the step loop reads device values."""
        if self._loss_sum is None or self._loss_steps == 0:
            return
        mean_t = self._loss_sum / self._loss_steps
        if self._distributed:
            # The logged loss is the whole batch's, as in one process: the mean of the ranks' means.
            mean_t = self.accelerator.reduce(mean_t.detach().clone(), reduction="mean")
        mean = mean_t.item()
        first, last = self._last_log_step + 1, self.global_step
        self._loss_sum, self._loss_steps, self._last_log_step = None, 0, self.global_step
        if not math.isfinite(mean) and self.settings.nan_check == "log" and self.config.nan_policy == "stop":
            raise NonFiniteError(
                f"non-finite loss between optimizer steps {first} and {last} (epoch {self.epoch_label}); "
                "set trainer.nan_check='step' to name the exact step"
            )
        assert self.optimizer is not None
        now = time.perf_counter()
        since, samples, tokens = self._log_mark
        elapsed = max(now - since, 1e-9)
        self._log_mark = (now, self.samples_seen, self.tokens_seen)
        record: dict[str, Any] = {
            "step": self.global_step,
            "epoch": self.epoch_label,
            "train/loss": mean,
            "lr": float(self.optimizer.param_groups[0]["lr"]),
            "samples_per_s": round((self.samples_seen - samples) / elapsed, 2),
            "epoch_time_s": round(now - self._epoch_started, 3),
            "time": time.time(),
        }
        if self.tokens_seen > tokens:
            record["tokens_per_s"] = round((self.tokens_seen - tokens) / elapsed, 2)
        if self.skipped_steps:
            record["skipped_steps"] = self.skipped_steps
        if self.scaler is not None:
            record["loss_scale"] = float(self.scaler.get_scale())
        self.log_metrics(record)

    def log_metrics(self, record: Mapping[str, Any], *, event: str = "train_step") -> None:
        """Write one structured record to the run directory's JSON-lines log and the logger.

        Args:
            record: JSON-able values (``step`` and metric names).
            event: The log event name ("train_step", "validation", ...).
        """
        if "time" not in record:
            record = {**record, "time": time.time()}
        if self.run_dir is not None and self.accelerator.is_main_process:
            self.run_dir.log_step(record)
        if self._chatty:
            # The same keys as log.jsonl and metrics.json ("val/loss"); the console line has its own timestamp.
            _log.info(event, **{k: v for k, v in record.items() if k != "time"})

    # ------------------------------------------------------------------ validation

    def _validate_and_notify(self) -> None:
        if self._val_loader is None:
            return
        hook = self.manager.hook
        self._last_val_step = self.global_step
        hook.on_validation_start(trainer=self)
        metrics = self.validate()
        record = {"step": self.global_step, "epoch": self.epoch_label, **metrics}
        self.latest_metrics = dict(metrics)
        self.history.append(record)
        self.log_metrics(record, event="validation")
        if self.scheduler is not None and hasattr(self.scheduler, "requires_metrics"):
            # forge schedulers receive the metrics on the first step after a validation.
            self._sched_metrics = dict(metrics)
        hook.on_validation_end(trainer=self, metrics=metrics)

    def validate(self, loader: Iterable[Any] | None = None) -> dict[str, float]:
        """Evaluate on ``loader`` (default: the validation loader given to ``fit``).

        The callbacks' ``on_evaluation_start`` and ``on_evaluation_end`` run around the pass (the EMA
        callback swaps its weights in there when ``eval_with_ema`` is set); the end hook runs even
        when the pass fails.

        Returns:
            ``{"val/loss": ..., "val/<metric>": ...}`` as Python floats.
        """
        loader = loader if loader is not None else self._val_loader
        if loader is None or self.model is None:
            return {}
        hook = self.manager.hook
        hook.on_evaluation_start(trainer=self)
        try:
            return self._evaluate(self.model, loader)
        finally:
            hook.on_evaluation_end(trainer=self)

    def _evaluate(self, model: nn.Module, loader: Iterable[Any]) -> dict[str, float]:
        was_training = model.training
        model.eval()
        total = torch.zeros((), device=self.device, dtype=torch.float64)
        count = seen = 0
        # A split that does not divide by the ranks is padded with repeats at the end of the order;
        # they are forwarded (every rank runs as many batches, which FSDP's collectives need) but
        # neither their loss nor their metrics count, so N ranks report the one-process figures.
        real = _real_samples(loader)
        metrics = self._metrics
        for m in metrics.values():
            m.reset()
        try:
            with torch.no_grad():
                for batch in loader:
                    batch = self._to_device(batch)
                    x, y = batch[0], batch[1]
                    n = count_samples(batch)
                    keep = n if real is None else max(0, min(n, real - seen))
                    seen += n
                    with self._autocast():
                        out = model(x)
                        if keep < n:
                            out, y = out[:keep], y[:keep]
                        loss = self._loss_fn(out, y) if keep else out.new_zeros(())
                    total += loss.detach().to(torch.float64) * keep
                    count += keep
                    if not keep:
                        continue
                    for m in metrics.values():
                        m.update(out.float(), y)
        finally:
            model.train(was_training)
        if self.accelerator.num_processes > 1:
            total = self.accelerator.reduce(total, reduction="sum")
            count = int(self.accelerator.reduce(torch.tensor(count, device=self.device), reduction="sum").item())
        result = {"val/loss": float(total.item() / max(count, 1))}
        for name, m in metrics.items():
            value = m.compute()
            result[f"val/{name}"] = float(value.item() if isinstance(value, torch.Tensor) else value)
        return result

    # ------------------------------------------------------------------ checkpoints

    def state_groups(self) -> dict[str, Any]:
        """Every tensor-bearing state of the run, grouped for :func:`forge.core._checkpoint.save_checkpoint`.

        Beside the model, optimizer, scheduler, scaler and callbacks: the running sum of the
        losses not yet logged (``running_loss``), so the first step line after a resume is the one
        the uninterrupted run writes.
        """
        groups = _checkpointing.state_groups(self, weights=not self._sharded_checkpoints)
        if self._loss_sum is not None:
            groups["running_loss"] = {"sum": self._loss_sum.detach().clone()}
        return groups

    def trainer_state(self) -> dict[str, Any]:
        """The JSON-able counters and data position that exact resume needs."""
        state = _checkpointing.trainer_state(self, last_log_step=self._last_log_step, loader=self._train_loader)
        state["loss_steps"] = self._loss_steps if self._loss_sum is not None else 0
        state["schedule_total_steps"] = self._planned_total
        state["samples_seen"], state["tokens_seen"] = self.samples_seen, self.tokens_seen
        # The data position counts this rank's samples: a resume on another world size converts it.
        state["world_size"] = self.accelerator.num_processes
        return state

    def save_checkpoint(self, *, reason: str = "periodic") -> Path | None:
        """Write a checkpoint through :attr:`checkpoints` (main process only).

        Args:
            reason: Recorded in the manifest ("periodic", "epoch_end", "last").

        Returns:
            The checkpoint directory, or None when there are no checkpoints or on non-main ranks.
        """
        if self.checkpoints is None:
            return None
        self._saved_step = self.global_step
        if self._sharded_checkpoints:
            return self._save_sharded_checkpoint(reason)
        rank_rngs: list[Any] | None = None
        if self._distributed and (reason != "interrupted" or self._interrupt_agreed):
            # Every rank saves at the same step (an interruption too: the ranks agreed on it). The
            # running loss becomes the ranks' mean, which leaves the next (reduced) log line unchanged
            # and makes the saved value the one every rank resumes with; each rank's generators are
            # gathered, so every rank resumes on its own stream.
            from forge.core._reproducibility import capture_rng_state
            from forge.core.distributed._process import gather_to_main

            if self._loss_sum is not None:
                self._loss_sum = self.accelerator.reduce(self._loss_sum.detach().clone(), reduction="mean")
            rank_rngs = gather_to_main(capture_rng_state())
        if not self.accelerator.is_main_process:
            return None
        started = time.perf_counter()
        groups = self.state_groups()
        if rank_rngs is not None:
            groups["rank_rng"] = {str(r): state for r, state in enumerate(rank_rngs) if r > 0}
        path = _checkpointing.save(self.checkpoints, self, groups, self.trainer_state(), reason=reason)
        self._last_checkpoint = (self.global_step, path)
        if self._chatty:  # the detail -vv shows; never in industrial mode's quiet log
            _log.debug(
                "checkpoint_saved",
                step=self.global_step,
                reason=reason,
                path=str(path),
                seconds=round(time.perf_counter() - started, 3),
            )
        return path

    def _ema(self) -> EMACallback | None:
        """The EMA callback, or None (the sharded checkpoint layout saves its averages with the shards)."""
        ema: EMACallback | None = self.callback(EMACallback)
        return ema

    def _save_sharded_checkpoint(self, reason: str) -> Path | None:
        """Save a checkpoint of an FSDP run (strategy "fsdp"); every rank takes part.

        Layout: the usual ``step-N/`` (``manifest.json`` and the small groups: scheduler, RNG,
        callbacks...) with a ``sharded/`` folder holding every rank's safetensors shard of the model
        and optimizer tensors; the manifest records the shards' SHA-256 and the optimizer's other
        values, and (``fsdp.full_weights``) the ``model`` group holds the whole weights for
        evaluation, export and serving. The shards are written to a staging folder first and moved
        in once the manifest is on disk.
        """
        assert self.checkpoints is not None and self.optimizer is not None
        from forge.core.distributed._process import barrier, gather_to_main
        from forge.core.distributed._sharded import file_digests, full_model_state, save_training_state

        if reason == "interrupted" and self._distributed and not self._interrupt_agreed:
            # A sharded save is a collective: a rank stopping alone cannot write one.
            _log.warning("checkpoint_not_saved", step=self.global_step, reason="only this rank was interrupted")
            return None
        timeout = self.config.distributed.timeout_s
        rank_rngs: list[Any] | None = None
        if self._distributed:
            from forge.core._reproducibility import capture_rng_state

            if self._loss_sum is not None:
                self._loss_sum = self.accelerator.reduce(self._loss_sum.detach().clone(), reduction="mean")
            rank_rngs = gather_to_main(capture_rng_state())
        started = time.perf_counter()
        target = self.checkpoints.path_for(self.global_step)
        staging = target.parent / f".{target.name}.tmp-sharded"  # a leftover is removed like any killed save's
        model = self.unwrapped_model
        ema = self._ema()
        # The EMA's averages are sharded like the weights (each rank writes its own slices).
        extra = ema.sharded_state(model) if ema is not None else None
        values = save_training_state(staging, model, self.optimizer, timeout_s=timeout, extra=extra)
        digests = file_digests(staging)
        full = self.config.distributed.fsdp.full_weights == "every_checkpoint" or reason == "last"
        weights = full_model_state(model) if full else None
        # The whole averages beside the whole weights: what evaluation and export read with ema=True.
        ema_weights = ema.full_weights() if ema is not None and full else None
        path: Path | None = None
        if self.accelerator.is_main_process:
            groups = self.state_groups()
            if weights is not None:
                groups = {"model": weights, **groups}
            if ema is not None and ema_weights is not None:
                callbacks = groups.setdefault("callbacks", {})
                callbacks[ema.state_key] = {**callbacks.get(ema.state_key, {}), "weights": ema_weights}
            if rank_rngs is not None:
                groups["rank_rng"] = {str(r): state for r, state in enumerate(rank_rngs) if r > 0}
            state = self.trainer_state()
            state["sharded"] = {"folder": "sharded", "files": digests, "optimizer": values}
            if extra is not None:
                state["sharded"]["ema"] = True
            path = _checkpointing.save(self.checkpoints, self, groups, state, reason=reason)
            os.replace(staging, path / "sharded")
            self._last_checkpoint = (self.global_step, path)
            if self._chatty:
                _log.debug(
                    "checkpoint_saved",
                    step=self.global_step,
                    reason=reason,
                    path=str(path),
                    sharded=len(digests),
                    seconds=round(time.perf_counter() - started, 3),
                )
        barrier("sharded checkpoint", timeout)  # no rank reads or reuses the folder before rank 0 moved it in
        return path

    def load_checkpoint(self, source: str | Path) -> None:
        """Restore weights, optimizer, scheduler, scaler, callbacks, RNG and data position.

        Args:
            source: A run directory (its newest good checkpoint) or a checkpoint directory.

        Raises:
            CheckpointError: nothing loadable at ``source``, or ``fit`` has not set up the model yet.
        """
        ema = self._ema()
        restored = _checkpointing.restore(
            self, source, sharded_ema=None if ema is None else lambda: ema.sharded_state(self.unwrapped_model)
        )
        state = restored.state
        self._last_log_step = int(state.get("last_log_step", self.global_step))
        self._loader_state = state.get("loader")
        saved_world, world = int(state.get("world_size", 1)), self.accelerator.num_processes
        if saved_world != world:
            batch_size = getattr(_unwrap_loader(self._train_loader), "batch_size", None)
            self._loader_state, self.batch_in_epoch = _checkpointing.reshard_position(
                self._loader_state, self.batch_in_epoch, saved_world, world, batch_size, where=restored.path
            )
        rank = self.accelerator.process_index
        if rank != 0:
            # restore() put back rank 0's generators; this rank takes its own saved ones when the world
            # size is unchanged, else a stream of its own from (seed, step, rank).
            from forge.core._reproducibility import restore_rng_state, seed_everything

            saved = restored.groups.get("rank_rng", {}).get(str(rank)) if saved_world == world else None
            if saved is not None:
                restore_rng_state(saved)
            else:
                from forge.core.data._seeding import derive_seed
                from forge.core.distributed._env import rank_seed

                seed_everything(rank_seed(derive_seed(self.config.seed, "resume", self.global_step) % (2**32), rank))
        running = restored.groups.get("running_loss")
        steps = int(state.get("loss_steps", 0))
        if running is not None and steps:
            self._loss_sum, self._loss_steps = running["sum"].to(self._device), steps
        else:
            self._loss_sum, self._loss_steps = None, 0
        self.samples_seen = int(state.get("samples_seen", 0))
        self.tokens_seen = int(state.get("tokens_seen", 0))
        self._last_checkpoint = (self.global_step, restored.path)
        self._saved_step = self.global_step
        self._replan_schedule(restored.planned_total_steps(self._steps_per_epoch), restored.trainer_config)
        _log.info("resumed", source=str(restored.path), step=self.global_step, epoch=self.epoch_label)
        if self._chatty:
            _log.debug(
                "resume_state",
                batch_in_epoch=self.batch_in_epoch,
                loader=self._loader_state,
                unlogged_loss_steps=self._loss_steps,
                samples_seen=self.samples_seen,
                groups=sorted(restored.groups),
            )

    def _replan_schedule(self, saved_total: int | None, saved_config: Mapping[str, Any]) -> None:
        """After a resume that changed the run's length, re-plan the learning-rate schedule.

        The schedule is rebuilt for the new total number of steps and advanced by the steps
        already taken, so training goes on along the schedule the new length implies (not at the
        old schedule's final rate). A metric-driven schedule (plateau) does not depend on the
        length and is kept; a scheduler given built (not as a factory) cannot be rebuilt, which a
        warning says.
        """
        total, sched, opt = self._planned_total, self.scheduler, self.optimizer
        if sched is None or opt is None or saved_total is None or total is None or saved_total == total:
            return
        changed = {
            f"trainer.{key}": [saved_config.get(key), getattr(self.config, key)]
            for key in ("max_epochs", "max_steps")
            if key in saved_config and saved_config.get(key) != getattr(self.config, key)
        }
        if getattr(sched, "requires_metrics", False):
            return
        if self._scheduler_factory is None:
            _log.warning(
                "schedule_not_replanned",
                changed=changed,
                total_steps=total,
                planned_total_steps=saved_total,
                reason="the scheduler was given built, not as a factory (optimizer, total_steps) -> scheduler",
            )
            return
        done = int(getattr(sched, "last_step", getattr(sched, "last_epoch", 0)))
        before = float(opt.param_groups[0]["lr"])
        fresh = self._scheduler_factory(opt, total)
        with warnings.catch_warnings():
            # replaying the schedule steps no optimizer, which torch's schedulers warn about
            warnings.simplefilter("ignore", UserWarning)
            for _ in range(done):
                fresh.step()
        self.scheduler = fresh
        _log.warning(
            "schedule_replanned",
            changed=changed,
            total_steps=total,
            planned_total_steps=saved_total,
            at_step=self.global_step,
            lr_before=before,
            lr_now=float(opt.param_groups[0]["lr"]),
            note="the learning-rate schedule now runs over the new total; the rate continues from its value there",
        )


def _is_factory(scheduler: Any) -> bool:
    """Whether ``scheduler`` is a factory ``(optimizer, total_steps) -> scheduler`` (not a built one)."""
    built = hasattr(scheduler, "step") and hasattr(scheduler, "state_dict")
    return scheduler is not None and not built and callable(scheduler)


def _unwrap_loader(loader: Any) -> Any:
    """The innermost loader holding a ``dataset``, looking through wrappers that keep theirs as ``.loader``."""
    while loader is not None and not hasattr(loader, "dataset") and hasattr(loader, "loader"):
        loader = loader.loader
    return loader


def _shards_itself(loader: Any, world_size: int) -> bool:
    """Whether ``loader`` is a forge loader already split over ``world_size`` ranks (no resharding wanted)."""
    holder = getattr(_unwrap_loader(loader), "resumable", None)
    return getattr(holder, "world_size", None) == world_size


def _real_samples(loader: Any) -> int | None:
    """How many of this rank's samples in ``loader`` are real, not padding; None when none is padding.

    forge's sampler and torch's ``DistributedSampler`` give rank ``r`` of ``N`` the positions
    ``r, r + N, ...`` of an order padded at its end with repeats up to a multiple of ``N``, so the
    real ones are this rank's first ``len(range(r, size, N))``.
    """
    inner = _unwrap_loader(loader)
    sampler: Any = getattr(inner, "resumable", None) or getattr(inner, "sampler", None)
    if isinstance(sampler, torch.utils.data.DistributedSampler):
        size = len(sampler.dataset)  # type: ignore[arg-type]  # a DistributedSampler's dataset has a length
        rank, world, drop = sampler.rank, sampler.num_replicas, sampler.drop_last
    elif all(hasattr(sampler, name) for name in ("size", "rank", "world_size", "drop_last")):
        size, rank, world, drop = sampler.size, sampler.rank, sampler.world_size, sampler.drop_last
    else:
        return None
    if drop or world <= 1:
        return None
    return len(range(rank, size, world))


def _set_dataset_epoch(loader: Any, epoch: int) -> None:
    """Call the dataset's ``set_epoch`` unless the loader moves it itself (a forge sharded stream)."""
    inner = _unwrap_loader(loader)
    dataset = getattr(inner, "dataset", None)
    if dataset is None or dataset is getattr(inner, "resumable", None):
        return
    set_epoch = getattr(dataset, "set_epoch", None)
    if callable(set_epoch):
        set_epoch(epoch)


def _dataset_size(loader: Any) -> int | None:
    """The number of samples of a loader's dataset, or None when it has no length."""
    dataset = getattr(_unwrap_loader(loader), "dataset", None)
    try:
        return None if dataset is None else len(dataset)
    except TypeError:
        return None


def __getattr__(name: str) -> Any:
    return _deprecated.moved_attribute(__name__, name)
