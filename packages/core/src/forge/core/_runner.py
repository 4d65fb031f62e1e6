"""Running a recipe: ``forge train`` is recipe -> resolved configs -> registry -> trainer -> run directory.

A :class:`~forge.core._recipe.Recipe` is resolved once to its config objects
(:class:`~forge.core._recipe.ResolvedRecipe`); every component, the trainer and its callbacks are
built from those objects through the registry; the run directory's ``config.json``/``config.toml``
are the same objects unstructured. This module writes ``config.*``, ``environment.json``,
``lineage.json`` and ``metrics.json``; the trainer writes ``log.jsonl`` and the checkpoints.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from forge.core._logging import get_logger
from forge.core._recipe import Recipe, ResolvedRecipe, load_recipe, recipe_field_type
from forge.core._run import RunDir, Which, find_checkpoint
from forge.core._run_files import what_still_works
from forge.core.config import apply_overrides
from forge.core.errors import CheckpointError, ConfigError, ForgeError

if TYPE_CHECKING:
    from torch import nn

    from forge.core.trainer._protocol import TrainerView
    from forge.core.trainer._trainer import FitResult

__all__ = ["RunResult", "build_loaders", "load_model", "resume_run", "run_loaders", "run_recipe"]

_log = get_logger(__name__)
_record_log = get_logger("forge.run")  # what a resume changed in the run directory's record


@attrs.frozen
class RunResult:
    """What :func:`run_recipe` returns.

    Attributes:
        run_dir: The run directory.
        fit: The trainer's result.
        metrics: Final metrics (validation and, when there is a test split, test).
        already_finished: A resumed run had already reached its max_epochs/max_steps, so nothing
            was trained (a warning says how to extend it).
    """

    run_dir: Path
    fit: FitResult
    metrics: dict[str, float]
    already_finished: bool = False


def run_recipe(
    path_or_name: str | os.PathLike[str],
    overrides: Iterable[str] = (),
    *,
    run_dir: str | os.PathLike[str] | None = None,
    runs_root: str | os.PathLike[str] = "runs",
    overwrite: bool = False,
    callbacks: Sequence[object] = (),
) -> RunResult:
    """Train what a recipe describes and write a run directory.

    Args:
        path_or_name: A recipe file or a registered recipe name.
        overrides: ``"trainer.max_epochs=2"``-style overrides.
        run_dir: The run directory (default: a fresh one under ``runs_root``). It must be new or
            empty: continue a run with :func:`resume_run`.
        runs_root: Parent of generated run directories.
        overwrite: Empty ``run_dir`` first when it holds a previous run (never a folder that is
            not a run directory).
        callbacks: Callbacks handed to the trainer after the recipe's ``[[callbacks]]``.

    Returns:
        A :class:`RunResult`. A run that fails before its first step leaves no run directory
        (an existing empty ``run_dir`` is left empty).

    Raises:
        ConfigError: the recipe is invalid (key path named), or ``run_dir`` is not empty and
            ``overwrite`` is false.
        ForgeError: building or training failed.
        TrainingInterrupted: Ctrl-C stopped training; the message says what was saved and gives
            the ``forge train --resume`` command.

    Example::

        result = run_recipe("core/mlp", ["trainer.max_epochs=2"], run_dir="runs/mlp")
    """
    recipe = load_recipe(path_or_name, overrides)
    recipe.check()  # a bad config is refused before the run directory exists
    rank, world_size = _join_processes(recipe)
    if world_size == 1:
        run = RunDir.new(run_dir, root=runs_root, name=recipe.name, overwrite=overwrite)
    else:
        run = _shared_run_dir(rank, lambda: RunDir.new(run_dir, root=runs_root, name=recipe.name, overwrite=overwrite))
    return _execute(recipe, run, resume=False, callbacks=callbacks)


def _join_processes(recipe: Recipe) -> tuple[int, int]:
    """Join the process group of a multi-process launch (torchrun, srun...): ``(rank, world_size)``.

    ``(0, 1)`` without a launcher, and nothing (not even torch) is imported then.
    """
    from forge.core.distributed._env import adopt_slurm_env, detect_env

    adopt_slurm_env()
    env = detect_env()
    if not env.is_distributed:
        return 0, 1
    import torch

    from forge.core._logging import set_rank
    from forge.core.distributed._process import init_process_group

    set_rank(env.rank, env.world_size)
    init_process_group(recipe.trainer.distributed, "cuda" if torch.cuda.is_available() else "cpu")
    return env.rank, env.world_size


def _shared_run_dir(rank: int, open_run: Callable[[], RunDir]) -> RunDir:
    """Rank 0 opens the run directory (``open_run``) and tells the others where it is; they follow it read-only.

    A refusal on rank 0 (a run directory already in use) stops every rank, each with the reason.
    """
    from forge.core.distributed._process import DistributedError, broadcast_text

    if rank == 0:
        try:
            run = open_run()
        except ForgeError as exc:
            broadcast_text("\0" + str(exc))
            raise
        broadcast_text(str(run.path))
        return run
    where = broadcast_text(None)
    if where.startswith("\0"):
        raise DistributedError(f"rank {rank}: rank 0 could not open the run directory: {where[1:]}")
    return RunDir.follower(where)


def resume_run(
    run_dir: str | os.PathLike[str], overrides: Iterable[str] = (), *, callbacks: Sequence[object] = ()
) -> RunResult:
    """Continue a run from its newest good checkpoint, with its saved resolved recipe.

    Overrides that change the recipe are recorded: ``config.json``/``config.toml`` are rewritten to
    what now runs and ``config_history.jsonl`` keeps each earlier version with what changed. A new
    ``max_epochs``/``max_steps`` re-plans the learning-rate schedule for the new length.

    Args:
        run_dir: The run directory to continue.
        overrides: Overrides applied to the saved recipe (e.g. ``trainer.max_epochs=20`` to extend).
        callbacks: Callbacks handed to the trainer after the recipe's ``[[callbacks]]``.

    Raises:
        CheckpointError: the run has no config or no loadable checkpoint.
    """
    recipe = saved_recipe(RunDir.follower(run_dir), overrides)
    rank, world_size = _join_processes(recipe)
    run = RunDir(run_dir) if rank == 0 else RunDir.follower(run_dir)
    return _execute(recipe, run, resume=True, callbacks=callbacks)


def saved_recipe(run: RunDir, overrides: Iterable[str] = ()) -> Recipe:
    """The resolved recipe a run directory saved, with ``overrides`` applied.

    Raises:
        CheckpointError: the directory has no ``config.json``, or it is damaged (named, with what
            still works).
        ConfigError: an override is invalid, or the saved recipe is not a valid recipe (edited by
            hand, or from a forge that checked less); the message says what still works.
    """
    saved = run.read_config()
    source = run.path / "config.json"
    data = apply_overrides(saved, list(overrides), field_type=recipe_field_type)
    try:
        return Recipe.from_dict(data, source=str(source))
    except ConfigError as exc:
        try:
            Recipe.from_dict(saved, source=str(source))
        except ConfigError:  # the saved recipe itself is refused, not only an override
            raise ConfigError(f"{exc}; {what_still_works(source)}") from None
        raise


def build_loaders(resolved: ResolvedRecipe, splits: Any, *, rank: int = 0, world_size: int = 1) -> tuple[Any, Any, Any]:
    """Build train/val/test loaders for ``splits`` with the recipe's loader config and seed.

    The val and test loaders neither shuffle nor drop the last batch; a missing split gives None.
    With several processes each loader yields this ``rank``'s share of every batch (``batch_size``
    is per process: the global batch is ``batch_size * world_size``).
    """
    from forge.core.data._loader import build_loader

    cfg, seed = resolved.loader, resolved.recipe.seed
    train = build_loader(splits.train, cfg, seed=seed, rank=rank, world_size=world_size)
    eval_cfg = attrs.evolve(cfg, shuffle=False, drop_last=False)
    val = (
        build_loader(splits.val, eval_cfg, seed=seed, rank=rank, world_size=world_size)
        if splits.val is not None
        else None
    )
    test = (
        build_loader(splits.test, eval_cfg, seed=seed, rank=rank, world_size=world_size)
        if splits.test is not None
        else None
    )
    return train, val, test


def run_loaders(run_dir: str | os.PathLike[str], *, ordered: bool = False) -> tuple[ResolvedRecipe, Any, Any, Any]:
    """A finished run's resolved recipe and its train/val/test loaders, rebuilt from the saved recipe.

    Args:
        run_dir: The run directory.
        ordered: Read the training split in order, every sample once (for analysis; training shuffles).

    Returns:
        ``(resolved, train, val, test)``; a split the dataset lacks is None.

    Raises:
        CheckpointError, ConfigError: as :func:`saved_recipe`.
    """
    from forge.core.data._loader import build_loader

    recipe = saved_recipe(RunDir(Path(run_dir)))
    data = recipe.data.resolve()
    splits = data.build()
    resolved = recipe.resolve(data=data)
    train, val, test = build_loaders(resolved, splits)
    if ordered:
        train = build_loader(splits.train, attrs.evolve(resolved.loader, shuffle=False, drop_last=False), seed=0)
    return resolved, train, val, test


class _Progress:
    """A callback noting where ``fit`` started (after a resume restored the saved state).

    It counts the steps a fit trained: a new run that trained none is discarded on failure, and a
    resumed run that trained none had already finished.
    """

    def __init__(self) -> None:
        self._trainer: TrainerView | None = None
        self._start = 0

    def on_train_start(self, trainer: TrainerView) -> None:
        self._trainer, self._start = trainer, trainer.global_step

    @property
    def steps(self) -> int:
        """Optimizer steps trained by this ``fit`` so far (0 before training started)."""
        return 0 if self._trainer is None else self._trainer.global_step - self._start


class _RecordConfig:
    """A callback making a resumed run's recorded config the one that runs, once its checkpoint loaded.

    Recorded only then, so a resume refused (a checkpoint that does not fit the changed recipe)
    leaves ``config.json`` as it was.
    """

    def __init__(self, run: RunDir, config: dict[str, Any]) -> None:
        self._run, self._config = run, config

    def on_train_start(self, trainer: TrainerView) -> None:
        changes = self._run.update_config(self._config, reason="resume", step=trainer.global_step)
        if changes:
            _record_log.warning(
                "run.config_changed",
                run_dir=str(self._run.path),
                step=trainer.global_step,
                changes=changes,
                history="config_history.jsonl",
            )


def _execute(recipe: Recipe, run: RunDir, *, resume: bool, callbacks: Sequence[object] = ()) -> RunResult:
    from forge.core.trainer._trainer import TrainingInterrupted

    progress = _Progress()
    try:
        fit, final = _train(recipe, run, resume=resume, progress=progress, callbacks=callbacks)
    except TrainingInterrupted as exc:
        if not resume and progress.steps == 0:
            run.discard()
            raise
        raise TrainingInterrupted(exc.step, exc.epoch, exc.checkpoint, f"forge train --resume {run.path}") from None
    except BaseException:
        if not resume and progress.steps == 0:
            run.discard()  # nothing was trained: leave no half-written run behind
        raise
    finally:
        run.close()
    finished = resume and progress.steps == 0
    if finished:
        _log.warning(
            "run.already_finished",
            run_dir=str(run.path),
            step=fit.global_step,
            epoch=fit.epoch,
            stop_reason=fit.stop_reason,
            hint=finished_hint(run.path, fit.stop_reason),
        )
    return RunResult(run_dir=run.path, fit=fit, metrics=final, already_finished=finished)


def finished_hint(run_dir: Path, stop_reason: str) -> str:
    """What to say when resuming ``run_dir`` trained nothing because it had stopped for ``stop_reason``."""
    key = "max_steps" if stop_reason == "max_steps" else "max_epochs"
    return (
        f"nothing was trained: the run had already finished ({stop_reason or 'done'}); "
        f"forge train --resume {run_dir} trainer.{key}=N extends it (the learning-rate schedule is re-planned "
        "for the new length)"
    )


def _train(
    recipe: Recipe, run: RunDir, *, resume: bool, progress: _Progress, callbacks: Sequence[object] = ()
) -> tuple[FitResult, dict[str, float]]:
    from forge.core._registry import registry
    from forge.core._reproducibility import configure_determinism, seed_everything

    # The dataset is built first: the other sections are resolved once num_classes is known.
    data = recipe.data.resolve()
    seed_everything(recipe.seed)
    splits = data.build()
    if splits.train is None:
        raise ForgeError(f"{recipe.source}: data: dataset {recipe.data.name} has no train split")
    resolved = recipe.with_data(splits).resolve(data=data)
    config = resolved.to_dict()
    if not resume:
        run.write_config(config)
    # Determinism is switched before the environment is recorded, so environment.json says what runs.
    configure_determinism(recipe.trainer.resolved().deterministic)
    env = run.write_environment()
    run.write_lineage(dataset=splits.lineage(), config=config, environment=env)
    seed_everything(recipe.seed)
    model = resolved.model.build()
    loss = resolved.loss.build()
    metrics = {m.ref.name.rsplit(".", 1)[-1]: m.build() for m in resolved.metrics}
    optimizer = resolved.optimizer.build()
    scheduler = resolved.scheduler.build() if resolved.scheduler is not None else None
    from forge.core.distributed._process import world

    rank, world_size = world()
    train, val, test = build_loaders(resolved, splits, rank=rank, world_size=world_size)
    if resolved.batch_transform is not None:
        from forge.core.data._loader import BatchTransformLoader

        train = BatchTransformLoader(train, resolved.batch_transform.build(), seed=recipe.seed)
    built = [c.build() for c in resolved.callbacks]
    build_trainer = registry.builder("trainer", recipe.trainer_name)
    extra = [*built, *callbacks, progress]
    if resume:
        extra.append(_RecordConfig(run, config))
    trainer = build_trainer(recipe.trainer, callbacks=extra, run_dir=run)
    fit: FitResult = trainer.fit(
        model,
        train,
        loss_fn=loss,
        optimizer=optimizer,
        scheduler=scheduler,
        val_loader=val,
        metrics=metrics,
        resume_from=run.path if resume else None,
    )
    final = dict(fit.metrics)
    if test is not None:
        final.update({k.replace("val/", "test/", 1): v for k, v in trainer.validate(test).items()})
    run.write_metrics({"step": fit.global_step, "epoch": fit.epoch, "stop_reason": fit.stop_reason, **final})
    return fit, final


def load_model(run_dir: str | os.PathLike[str], which: Which = "best", *, ema: bool | None = None) -> nn.Module:
    """Rebuild a run's model from its saved recipe and load its best or last weights.

    Args:
        run_dir: The run directory.
        which: "best" or "last" checkpoint.
        ema: Load the EMA weights (when kept); None follows the run's ``trainer.eval_with_ema``.

    Returns:
        The model in eval mode, on CPU.

    Raises:
        CheckpointError: no loadable checkpoint, or EMA weights asked for but not kept.
    """
    run = RunDir(run_dir)
    recipe = saved_recipe(run)
    model: nn.Module = recipe.model.resolve().build()
    return load_weights(model, run.path, which, ema=recipe.trainer.eval_with_ema if ema is None else ema)


def load_weights(model: nn.Module, run_dir: str | os.PathLike[str], which: Which, *, ema: bool) -> nn.Module:
    """Load a run's best or last weights (the EMA weights when ``ema``) into ``model``, put in eval mode.

    Raises:
        CheckpointError: no loadable checkpoint, or EMA weights asked for but not kept.
    """
    ckpt = find_checkpoint(run_dir, which)
    state = ckpt.groups["model"]
    if ema:
        saved = ckpt.groups.get("callbacks", {}).get("ema")
        if saved is None:
            raise CheckpointError(f"{ckpt.path}: EMA weights requested but the run kept no EMA")
        # the EMA keeps every buffer; the state dict has only the persistent ones
        averaged = {k.removeprefix("buffer:"): v for k, v in saved["weights"].items()}
        state = {**state, **{k: v for k, v in averaged.items() if k in state}}
    model.load_state_dict(state)
    model.eval()
    return model
