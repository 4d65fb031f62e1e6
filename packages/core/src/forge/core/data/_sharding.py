"""Splitting data across distributed ranks and DataLoader workers, with exact mid-epoch resume.

Map-style data: :class:`ResumableSampler` shuffles from ``(seed, epoch)``, gives each rank an
equal slice (padding by repetition so every rank has the same number of batches, as DDP needs,
unless ``drop_last``), and resumes at ``{"epoch", "index"}`` without touching the skipped samples.

Iterable data: :class:`ShardedIterableDataset` turns one deterministic global record stream into
``world_size x num_workers`` disjoint sub-streams. Records go to ranks round-robin (record ``i`` to
rank ``i % world_size``); within a rank, whole *batches* go to workers round-robin (rank-local record
``j`` to worker ``(j // batch_size) % num_workers``). Because torch's DataLoader also collects
batches from workers round-robin, the batches a rank sees arrive in exactly the rank-local order
a single process would produce, whatever the number of workers. That is what makes the state
``{"epoch", "index"}`` (samples this rank consumed) enough to resume exactly: each worker can work
out how many of its own samples were consumed and skip them before decoding (worker roles are
rotated on resume so that worker 0, which the DataLoader asks first, owns the next batch). Every worker scans the
cheap raw stream (lines, row references) but decodes only its own records.

The bounded shuffle buffer runs per worker over its own raw records, seeded by
``(seed, epoch, rank, worker)``, so it never moves a record to another stream and it replays
identically on resume.

Workers may persist across epochs: :meth:`ShardedIterableDataset.share_position` moves the epoch and
resume position into shared memory, so a worker started for an earlier epoch reads the position
the main process set (``set_epoch``, ``load_state_dict``) each time the DataLoader restarts it.

Random draws in workers (augmentations) are seeded per batch from its place in the epoch
(:func:`~forge.core.data._seeding.reseed_batch`): a stream worker reseeds before each of its batches,
and :class:`ResumableSampler` marks each batch's first index (a
:class:`~forge.core.data._seeding.BatchStart`) for map-style data. A batch draws the same numbers
whatever the number of workers and wherever the run resumed.
"""

from __future__ import annotations

import abc
import collections
import itertools
import random
from collections.abc import Iterable, Iterator, Sized
from typing import Any, Generic, TypeVar

import torch
from torch.utils.data import IterableDataset, Sampler, get_worker_info

from forge.core.data._seeding import BatchStart, derive_seed, reseed_batch
from forge.core.errors import DataError

__all__ = ["ResumableSampler", "ShardedIterableDataset", "shuffle_buffer", "worker_consumed"]

T = TypeVar("T")
R = TypeVar("R")


def _check_rank(rank: int, world_size: int) -> None:
    if world_size < 1 or not 0 <= rank < world_size:
        raise DataError(f"rank {rank} is not in [0, world_size={world_size})")


def _check_state(state: Any, where: str) -> tuple[int, int]:
    if not isinstance(state, dict) or set(state) != {"epoch", "index"}:
        raise DataError(f"{where}: state must be a dict with exactly 'epoch' and 'index', got {state!r}")
    epoch, index = state["epoch"], state["index"]
    if not isinstance(epoch, int) or not isinstance(index, int) or epoch < 0 or index < 0:
        raise DataError(f"{where}: 'epoch' and 'index' must be non-negative ints, got {state!r}")
    return epoch, index


class ResumableSampler(Sampler[int]):
    """Per-epoch shuffled (or sequential), rank-partitioned indices that resume mid-epoch.

    Args:
        data_source: The dataset (only its length is used) or the length itself.
        seed: Root seed; the permutation of epoch ``e`` depends on ``(seed, e)`` only.
        shuffle: Shuffle each epoch; otherwise indices go in order.
        rank: This process's rank.
        world_size: Number of ranks.
        drop_last: Drop the tail that does not divide evenly among ranks instead of padding it
            with repeated indices.
        epoch: The starting epoch.
        mark_batches: When > 0, the first index of each batch of this size is yielded as a
            :class:`~forge.core.data._seeding.BatchStart` (epoch and position), for workers to seed
            that batch from (``build_loader`` sets it when there are workers).

    Raises:
        DataError: For a rank outside ``[0, world_size)`` or a negative ``mark_batches``.

    Example:
        >>> sampler = ResumableSampler(10, seed=0)
        >>> it = iter(sampler); _ = [next(it) for _ in range(4)]
        >>> state = sampler.state_dict()  # {"epoch": 0, "index": 4}
        >>> other = ResumableSampler(10, seed=0); other.load_state_dict(state)
        >>> list(other) == list(it)
        True
    """

    def __init__(
        self,
        data_source: Sized | int,
        *,
        seed: int,
        shuffle: bool = True,
        rank: int = 0,
        world_size: int = 1,
        drop_last: bool = False,
        epoch: int = 0,
        mark_batches: int = 0,
    ) -> None:
        _check_rank(rank, world_size)
        if mark_batches < 0:
            raise DataError(f"mark_batches must be >= 0 (0: no marks), got {mark_batches}")
        self.mark_batches = mark_batches
        self.size = data_source if isinstance(data_source, int) else len(data_source)
        self.seed = seed
        self.shuffle = shuffle
        self.rank = rank
        self.world_size = world_size
        self.drop_last = drop_last
        self.epoch = epoch
        self.index = 0  # indices handed out so far in this epoch
        self._start = 0  # where the next iteration begins (set by load_state_dict)

    @property
    def per_rank(self) -> int:
        """Number of indices each rank sees in one full epoch."""
        if self.drop_last:
            return self.size // self.world_size
        return -(-self.size // self.world_size)

    def epoch_indices(self, epoch: int | None = None) -> list[int]:
        """Return this rank's full index list for ``epoch`` (default: the current one)."""
        epoch = self.epoch if epoch is None else epoch
        if self.shuffle:
            generator = torch.Generator().manual_seed(derive_seed(self.seed, "sampler", epoch))
            order = torch.randperm(self.size, generator=generator).tolist()
        else:
            order = list(range(self.size))
        total = self.per_rank * self.world_size
        if total > len(order) and order:
            # Pad by repeating from the start so every rank gets the same number of batches.
            order = (order * (total // len(order) + 1))[:total]
        else:
            order = order[:total]
        return order[self.rank : total : self.world_size]

    def set_epoch(self, epoch: int) -> None:
        """Move to ``epoch``: the next iteration uses its permutation, from the start."""
        self.epoch = epoch
        self.index = 0
        self._start = 0

    def __iter__(self) -> Iterator[int]:
        indices = self.epoch_indices()
        start, self._start = self._start, 0
        self.index = start
        mark, epoch = self.mark_batches, self.epoch
        for position in range(start, len(indices)):
            self.index = position + 1
            if mark and (position - start) % mark == 0:
                yield BatchStart(indices[position], epoch, position)
            else:
                yield indices[position]

    def __len__(self) -> int:
        """Indices the next iteration yields (fewer than :attr:`per_rank` after a resume)."""
        return self.per_rank - self._start

    def state_dict(self) -> dict[str, int]:
        """Return ``{"epoch", "index"}``: indices handed out so far this epoch.

        With DataLoader workers prefetching, the sampler runs ahead of the training loop; use
        :meth:`forge.core.data._loader.ForgeDataLoader.state_dict`, which counts consumed samples.
        """
        return {"epoch": self.epoch, "index": self.index}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Resume at ``state``: the next iteration skips the first ``index`` indices of ``epoch``.

        Raises:
            DataError: When the state is malformed or its index exceeds the epoch's length.
        """
        epoch, index = _check_state(state, "ResumableSampler.load_state_dict")
        if index > self.per_rank:
            raise DataError(f"cannot resume at index {index}: this rank has only {self.per_rank} samples per epoch")
        self.epoch = epoch
        self.index = index
        self._start = index


def _owned_batches(records: Iterator[T], size: int, workers: int, role: int) -> Iterator[T]:
    """Records ``j`` with ``(j // size) % workers == role``: every ``workers``-th run of ``size``.

    The runs other workers own are skipped by ``islice`` in C, so they cost no Python per record.
    """
    skip = collections.deque[T](maxlen=0).extend
    skip(itertools.islice(records, size * role))
    while True:
        batch = list(itertools.islice(records, size))
        if not batch:
            return
        yield from batch
        skip(itertools.islice(records, size * (workers - 1)))


def shuffle_buffer(items: Iterator[T], size: int, rng: random.Random) -> Iterator[T]:
    """Shuffle a stream with a bounded buffer of ``size`` items (``size <= 1`` keeps the order).

    Memory stays at ``size`` items; an item can move at most about ``size`` places earlier.
    """
    if size <= 1:
        yield from items
        return
    buffer = list(itertools.islice(items, size))
    draw = rng.random  # int(random() * size) is uniform to within size / 2**53, and 3x cheaper than randrange
    for item in items:
        slot = int(draw() * size)
        yield buffer[slot]
        buffer[slot] = item
    rng.shuffle(buffer)
    yield from buffer


def worker_consumed(consumed: int, batch_size: int, num_workers: int, worker: int) -> int:
    """How many of ``worker``'s samples a rank has consumed after ``consumed`` rank-local samples.

    Worker ``w`` owns rank-local batches ``w, w + W, w + 2W, ...``; the rank has consumed
    ``consumed // batch_size`` whole batches (a partial batch can only be the epoch's last).
    """
    done_batches = -(-consumed // batch_size)
    mine = 0 if done_batches <= worker else (done_batches - worker + num_workers - 1) // num_workers
    return mine * batch_size


class ShardedIterableDataset(IterableDataset[R], Generic[R, T], abc.ABC):
    """An iterable dataset split disjointly across ranks and workers, resumable mid-epoch.

    Subclasses implement :meth:`raw_records` (a cheap, deterministic global stream for an epoch,
    identical in every process) and :meth:`decode` (the expensive part, run only on owned records).

    Args:
        seed: Root seed for the shuffle buffer (and for subclasses' shard order).
        shuffle_buffer: Bounded shuffle buffer size per worker (0 or 1 keeps the stream order).
        rank: This process's rank.
        world_size: Number of ranks.
        transform: Applied to each decoded sample, or ``None``.

    Raises:
        DataError: For a rank outside ``[0, world_size)``.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        shuffle_buffer: int = 0,
        rank: int = 0,
        world_size: int = 1,
        transform: Any = None,
    ) -> None:
        super().__init__()
        _check_rank(rank, world_size)
        self.seed = seed
        self.shuffle_buffer = shuffle_buffer
        self.rank = rank
        self.world_size = world_size
        self.transform = transform
        self.batch_size = 1  # worker granularity; build_loader sets it to the loader's batch size
        # [epoch, rank-local samples already consumed this epoch]; a shared tensor once shared
        self._position: list[int] | torch.Tensor = [0, 0]

    @property
    def epoch(self) -> int:
        """The epoch the next iterator streams."""
        return int(self._position[0])

    @epoch.setter
    def epoch(self, value: int) -> None:
        self._position[0] = value

    @property
    def start_index(self) -> int:
        """Rank-local samples of :attr:`epoch` the next iterator skips (the resume position)."""
        return int(self._position[1])

    @start_index.setter
    def start_index(self, value: int) -> None:
        self._position[1] = value

    def share_position(self) -> None:
        """Keep the epoch and resume position in shared memory, for workers that persist across epochs.

        Call it before the DataLoader starts its workers (``build_loader`` does when it makes them
        persistent). Idempotent.
        """
        if not isinstance(self._position, torch.Tensor):
            shared = torch.tensor(self._position, dtype=torch.int64)
            shared.share_memory_()  # type: ignore[no-untyped-call]  # torch leaves share_memory_ unannotated
            self._position = shared

    @abc.abstractmethod
    def raw_records(self, epoch: int) -> Iterator[T]:
        """Yield the global stream of raw records for ``epoch``; must be identical in every process."""

    @abc.abstractmethod
    def decode(self, raw: T) -> R:
        """Turn one owned raw record into a sample."""

    def configure(self, *, rank: int, world_size: int, batch_size: int, epoch: int | None = None) -> None:
        """Set the distribution and batching this dataset is read with (``build_loader`` calls it).

        Raises:
            DataError: For a rank outside ``[0, world_size)`` or a batch size below 1.
        """
        _check_rank(rank, world_size)
        if batch_size < 1:
            raise DataError(f"batch_size must be >= 1, got {batch_size}")
        self.rank, self.world_size, self.batch_size = rank, world_size, batch_size
        if epoch is not None:
            self.set_epoch(epoch)

    def set_epoch(self, epoch: int) -> None:
        """Move to ``epoch`` from its start (takes effect when the next iterator is created)."""
        self.epoch = epoch
        self.start_index = 0

    def state_dict(self) -> dict[str, int]:
        """Return the resume position ``{"epoch", "index"}`` as last set (see ``load_state_dict``)."""
        return {"epoch": self.epoch, "index": self.start_index}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Resume at ``state``: ``index`` rank-local samples of ``epoch`` are skipped.

        Raises:
            DataError: When the state is malformed.
        """
        self.epoch, self.start_index = _check_state(state, f"{type(self).__name__}.load_state_dict")

    def iter_shard(self, worker: int = 0, num_workers: int = 1, *, seed_batches: bool = False) -> Iterator[R]:
        """Yield the samples of one (rank, worker) sub-stream, after the resume position.

        Args:
            worker: This worker's id.
            num_workers: Number of workers of this rank.
            seed_batches: Reseed the random generators before each batch of this worker
                (:func:`~forge.core.data._seeding.reseed_batch`); workers do.

        Yields:
            Decoded (and transformed) samples.
        """
        size = self.batch_size
        done = -(-self.start_index // size)  # rank-local batches consumed before this iterator
        # The DataLoader always asks worker 0 first, so after a resume worker 0 must play the role
        # of the worker that owns the next batch: rotate roles by the batches already consumed.
        role = (worker + done) % num_workers
        # Each stage is added only when it does something: every record passes through them all.
        mine: Iterator[T] = self.raw_records(self.epoch)
        if self.world_size > 1:
            mine = itertools.islice(mine, self.rank, None, self.world_size)
        if num_workers > 1:
            mine = _owned_batches(mine, size, num_workers, role)
        if self.shuffle_buffer > 1:
            rng = random.Random(derive_seed(self.seed, "shuffle", self.epoch, self.rank, role))
            mine = shuffle_buffer(mine, self.shuffle_buffer, rng)
        skip = worker_consumed(self.start_index, size, num_workers, role)
        if skip:
            mine = itertools.islice(mine, skip, None)
        decode, transform = self.decode, self.transform

        def samples(raws: Iterable[T]) -> Iterator[R]:  # maps in C: no Python frame per sample
            decoded = map(decode, raws)
            return decoded if transform is None else map(transform, decoded)

        if not seed_batches:
            yield from samples(mine)
            return
        # the DataLoader takes `size` samples a batch from this worker: its k-th batch is the rank's
        # batch done + worker + k * num_workers
        epoch, number = self.epoch, done + worker
        while chunk := list(itertools.islice(mine, size)):
            reseed_batch(epoch, number * size)
            yield from samples(chunk)
            number += num_workers

    def __iter__(self) -> Iterator[R]:
        info = get_worker_info()
        if info is None:
            return self.iter_shard(0, 1)
        return self.iter_shard(info.id, info.num_workers, seed_batches=True)
