"""The DataLoader factory: tuned defaults, seeded per epoch, rank and worker, resumable mid-epoch.

:func:`build_loader` returns a :class:`ForgeDataLoader`, a ``torch.utils.data.DataLoader`` that
also counts the samples the training loop has *consumed* (workers prefetch ahead, so the sampler's
own position overstates progress) and exposes them as ``state_dict() -> {"epoch", "index"}``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

# Imported before any worker forks, so workers inherit it instead of importing it (and structlog)
# on every epoch's start: WorkerSeeder seeds through it.
import forge.core._reproducibility  # noqa: F401
from forge.core.data._configs import LoaderConfig
from forge.core.data._seeding import BatchSeededDataset, WorkerSeeder, derive_seed
from forge.core.data._sharding import ResumableSampler, ShardedIterableDataset
from forge.core.data._transfer import InlineCollate
from forge.core.errors import ConfigError, DataError, ForgeError

__all__ = ["BatchTransformLoader", "ForgeDataLoader", "ResolvedLoaderSettings", "build_loader", "resolve_settings"]


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS and Windows
        return os.cpu_count() or 1


ResolvedLoaderSettings = dict[str, Any]


def resolve_settings(config: LoaderConfig, *, iterable: bool) -> ResolvedLoaderSettings:
    """Turn a :class:`LoaderConfig` with ``None`` ("auto") knobs into concrete DataLoader settings.

    Defaults: ``num_workers = min(4, CPUs)``; ``pin_memory`` when CUDA is available;
    ``prefetch_factor = 2`` and ``persistent_workers`` when there are workers. Persistent workers
    stay off by default for iterable datasets other than forge's sharded streams, because a worker
    keeps the dataset copy it started with and would miss the next epoch's reshuffle and any resume
    position; a :class:`ShardedIterableDataset` shares its position with its workers instead.

    Args:
        config: The loader config.
        iterable: Whether the dataset is an ``IterableDataset`` that cannot follow epochs in
            persistent workers (any but a :class:`ShardedIterableDataset`).

    Returns:
        A dict of keyword arguments for ``torch.utils.data.DataLoader``.

    Raises:
        ConfigError: When worker-only settings are given without workers.
    """
    workers = min(4, _cpu_count()) if config.num_workers is None else config.num_workers
    if workers == 0 and config.prefetch_factor is not None:
        raise ConfigError("loader.prefetch_factor needs loader.num_workers > 0")
    if workers == 0 and config.persistent_workers:
        raise ConfigError("loader.persistent_workers needs loader.num_workers > 0")
    settings: ResolvedLoaderSettings = {
        "batch_size": config.batch_size,
        "num_workers": workers,
        "pin_memory": torch.cuda.is_available() if config.pin_memory is None else config.pin_memory,
        "drop_last": config.drop_last,
        "timeout": config.timeout,
    }
    if not config.in_order:
        # Only passed when asked for: torch < 2.6 has no in_order argument.
        settings["in_order"] = False
    if workers > 0:
        settings["prefetch_factor"] = 2 if config.prefetch_factor is None else config.prefetch_factor
        persistent = (not iterable) if config.persistent_workers is None else config.persistent_workers
        settings["persistent_workers"] = persistent
        if config.multiprocessing_context is not None:
            settings["multiprocessing_context"] = config.multiprocessing_context
    return settings


def _batch_length(batch: Any) -> int:
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.dim() > 0 else 1
    if isinstance(batch, Mapping):
        for value in batch.values():
            return _batch_length(value)
    if isinstance(batch, (tuple, list)) and batch:
        first = batch[0]
        if isinstance(first, (torch.Tensor, Mapping, tuple, list)):
            return _batch_length(first)
        return len(batch)
    raise DataError(f"cannot tell the number of samples in a batch of type {type(batch).__name__}")


class ForgeDataLoader(DataLoader[Any]):
    """A DataLoader that knows how many samples the consumer has taken, for exact resume.

    Build it with :func:`build_loader`. Call :meth:`set_epoch` at the start of every epoch.
    """

    def __init__(self, dataset: Dataset[Any], *, epoch: int, seed: int, rank: int = 0, **kwargs: Any) -> None:
        """Args:
        dataset: The dataset.
        epoch: The starting epoch.
        seed: Root seed; the loader's generator is reseeded from ``(seed, rank, epoch)`` each epoch.
        rank: This process's rank.
        **kwargs: Passed to ``torch.utils.data.DataLoader``.
        """
        super().__init__(dataset, **kwargs)
        self._epoch = epoch
        self._consumed = 0
        self._seed = seed
        self._rank = rank

    def _reseed(self, epoch: int) -> None:
        if isinstance(self.generator, torch.Generator):
            self.generator.manual_seed(derive_seed(self._seed, "loader", self._rank, epoch))

    @property
    def resumable(self) -> ResumableSampler | ShardedIterableDataset[Any, Any] | None:
        """The object holding the position: the sampler or the sharded dataset (``None`` if neither)."""
        if isinstance(self.sampler, ResumableSampler):
            return self.sampler
        if isinstance(self.dataset, ShardedIterableDataset):
            return self.dataset
        return None

    def set_epoch(self, epoch: int) -> None:
        """Start ``epoch`` from its beginning (new shuffle order, new per-worker seeds)."""
        self._epoch = epoch
        self._consumed = 0
        holder = self.resumable
        if holder is not None:
            holder.set_epoch(epoch)
        self._reseed(epoch)

    def state_dict(self) -> dict[str, int]:
        """Return ``{"epoch", "index"}`` where ``index`` counts samples this rank has consumed."""
        return {"epoch": self._epoch, "index": self._consumed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Resume: the next iteration starts after the consumed samples, skipping them unread.

        Raises:
            DataError: When the loader's data cannot resume (no forge sampler or sharded dataset)
                or the state is malformed.
        """
        holder = self.resumable
        if holder is None:
            raise DataError(
                "this loader cannot resume: use build_loader with a map-style dataset or a ShardedIterableDataset"
            )
        holder.load_state_dict(state)
        self._reseed(state["epoch"])
        self._epoch, self._consumed = state["epoch"], state["index"]

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]  # a generator over the base iterator
        start = self._consumed
        base = super().__iter__()
        return self._counting(base, start)

    def _counting(self, base: Iterator[Any], start: int) -> Iterator[Any]:
        self._consumed = start
        while True:
            try:
                batch = next(base)
            except StopIteration:
                return
            except ForgeError as exc:
                raise _unwrap_worker_error(exc) from None
            self._consumed += _batch_length(batch)
            yield batch


_WORKER_PREFIX = re.compile(r"^Caught \w+ in DataLoader worker process \d+\.")


def _unwrap_worker_error(exc: ForgeError) -> ForgeError:
    """The forge error a DataLoader worker raised, without torch's "Caught ... in worker" wrapping.

    torch re-raises a worker's exception as the same type with a message that holds the worker's
    traceback text; the user needs only the original message (file, line, what to do).
    """
    message = str(exc)
    if not _WORKER_PREFIX.match(message):
        return exc
    marker = f"{type(exc).__module__}.{type(exc).__qualname__}: "
    at = message.rfind(marker)
    original = message[at + len(marker) :].strip() if at >= 0 else message.splitlines()[-1]
    try:
        return type(exc)(original)
    except TypeError:  # a subclass with another constructor: keep its type's family
        return ForgeError(original)


def build_loader(
    dataset: Dataset[Any],
    config: LoaderConfig | None = None,
    *,
    seed: int,
    rank: int = 0,
    world_size: int = 1,
    epoch: int = 0,
    shuffle: bool | None = None,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    worker_init_fn: Callable[[int], None] | None = None,
) -> ForgeDataLoader:
    """Build a tuned, seeded, resumable DataLoader.

    Map-style data gets a :class:`ResumableSampler` (shuffled from ``(seed, epoch)`` and split over
    ranks); a :class:`ShardedIterableDataset` is configured for this rank and batch size; any
    other iterable dataset is passed through as is (it must shard itself). With workers, batches
    of at most ``config.inline_batch_bytes`` travel through the workers' pipes rather than shared
    memory (:class:`~forge.core.data._transfer.InlineCollate`), and each batch's random draws are
    seeded from its place in the epoch (a map-style dataset is then wrapped in a
    :class:`~forge.core.data._seeding.BatchSeededDataset`; ``loader.dataset.dataset`` is yours).

    Args:
        dataset: A map-style or iterable dataset.
        config: Loader knobs; ``None`` uses :class:`LoaderConfig` defaults.
        seed: Root seed (same seed, same batches).
        rank: This process's rank.
        world_size: Number of ranks.
        epoch: Starting epoch.
        shuffle: Overrides ``config.shuffle`` (pass ``False`` for evaluation splits).
        collate_fn: Custom collate function, or ``None`` for torch's default.
        worker_init_fn: Runs in each worker after forge's seeding.

    Returns:
        A :class:`ForgeDataLoader`.

    Raises:
        ConfigError: For inconsistent settings.
        DataError: For a bad rank/world size.

    Example:
        >>> loader = build_loader(dataset, LoaderConfig(batch_size=64), seed=0)  # doctest: +SKIP
        >>> for epoch in range(3):  # doctest: +SKIP
        ...     loader.set_epoch(epoch)
        ...     for inputs, targets in loader: ...
    """
    config = config or LoaderConfig()
    iterable = isinstance(dataset, IterableDataset)
    sharded = isinstance(dataset, ShardedIterableDataset)
    settings = resolve_settings(config, iterable=iterable and not sharded)
    do_shuffle = config.shuffle if shuffle is None else shuffle
    generator = torch.Generator().manual_seed(derive_seed(seed, "loader", rank, epoch))
    kwargs: dict[str, Any] = dict(settings)
    kwargs["generator"] = generator
    kwargs["collate_fn"] = collate_fn
    if settings["num_workers"] > 0:
        kwargs["worker_init_fn"] = WorkerSeeder(seed=seed, rank=rank, then=worker_init_fn)
        if config.inline_batch_bytes > 0:
            kwargs["collate_fn"] = InlineCollate(collate_fn, config.inline_batch_bytes)
    if iterable:
        if isinstance(dataset, ShardedIterableDataset):
            dataset.configure(rank=rank, world_size=world_size, batch_size=config.batch_size, epoch=epoch)
            if settings.get("persistent_workers"):
                dataset.share_position()
        elif world_size > 1:
            raise DataError(
                f"{type(dataset).__name__} is an IterableDataset that forge cannot shard over {world_size} ranks; "
                "subclass forge.core.data._sharding.ShardedIterableDataset"
            )
    else:
        workers = settings["num_workers"] > 0
        kwargs["sampler"] = ResumableSampler(
            len(dataset),  # type: ignore[arg-type]  # map-style datasets define __len__
            seed=seed,
            shuffle=do_shuffle,
            rank=rank,
            world_size=world_size,
            drop_last=config.drop_last,
            epoch=epoch,
            mark_batches=config.batch_size if workers else 0,
        )
        if workers:  # workers seed each batch from the BatchStart the sampler puts at its head
            dataset = BatchSeededDataset(dataset)
    return ForgeDataLoader(dataset, epoch=epoch, seed=seed, rank=rank, **kwargs)


class BatchTransformLoader:
    """Apply a batch-level transform (mixup, cutmix...) to every batch of a training loader.

    ``transform(inputs, targets, generator=g)`` must return ``(inputs, targets)``. Its generator is
    reseeded from ``(seed, epoch, samples consumed before this batch)`` for every batch, so a run
    resumed mid-epoch draws exactly the augmentation an uninterrupted run would. The wrapper passes
    ``set_epoch``, ``state_dict`` and ``load_state_dict`` through to the wrapped loader.

    Args:
        loader: The training loader; a :class:`ForgeDataLoader` gives resume-exact draws.
        transform: The batch transform.
        seed: Root seed of the draws.
    """

    def __init__(self, loader: Any, transform: Any, *, seed: int) -> None:
        self.loader, self.transform, self.seed = loader, transform, seed
        self._epoch = 0

    def __len__(self) -> int:
        return len(self.loader)

    def set_epoch(self, epoch: int) -> None:
        """Start ``epoch`` (passed to the wrapped loader)."""
        self._epoch = epoch
        if hasattr(self.loader, "set_epoch"):
            self.loader.set_epoch(epoch)

    def state_dict(self) -> dict[str, int]:
        """The wrapped loader's position."""
        state: dict[str, int] = self.loader.state_dict()
        return state

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Resume the wrapped loader at ``state``."""
        self.loader.load_state_dict(state)
        self._epoch = state["epoch"]

    def __iter__(self) -> Iterator[Any]:
        position = getattr(self.loader, "state_dict", None)
        generator = torch.Generator()
        for count, batch in enumerate(self.loader):
            # the position after this batch is unique within the epoch and the same after a resume
            where = position()["index"] if position is not None else count
            generator.manual_seed(derive_seed(self.seed, "batch_transform", self._epoch, where))
            inputs, targets = batch
            yield self.transform(inputs, targets, generator=generator)
