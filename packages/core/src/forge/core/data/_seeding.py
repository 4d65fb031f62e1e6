"""Seeds for data loading: one root seed, derived deterministically for each epoch, rank and batch.

Derivation goes through sha256, never Python's salted ``hash()``, so the same root seed gives the
same streams on every machine and every run, and different (seed, epoch, rank, worker) tuples never
collide the way ``seed + epoch`` would (seed 1 epoch 0 == seed 0 epoch 1).

Inside DataLoader workers, python's, numpy's and torch's global generators are reseeded as each
batch begins from the batch's place in the epoch (:func:`reseed_batch`), so augmentations drawn
from them repeat exactly whatever the number of workers, whether workers persist, and wherever a
run resumes, mid-epoch included.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

import attrs
import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["BatchSeededDataset", "BatchStart", "WorkerSeeder", "derive_seed", "reseed_batch"]

# (root seed, rank) of the loader whose WorkerSeeder started this worker process; None elsewhere
_worker_origin: tuple[int, int] | None = None


def derive_seed(*parts: int | str) -> int:
    """Return a 63-bit seed determined by ``parts`` (ints and strings), stable across runs.

    Example:
        >>> derive_seed(0, "sampler", 3) == derive_seed(0, "sampler", 3)
        True
    """
    text = "\x1f".join(f"{type(p).__name__}:{p}" for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little") >> 1


@attrs.frozen
class WorkerSeeder:
    """A picklable ``worker_init_fn`` seeding python, numpy and torch per worker and rank.

    torch already gives each worker ``base_seed + worker_id`` (the base drawn from the loader's
    seeded generator); this mixes in the rank so that rank 1's worker 0 differs from rank 0's, and
    seeds numpy and ``random`` too (torch leaves numpy alone, so augmentations drawn with numpy
    would repeat across workers). An optional user ``worker_init_fn`` runs afterwards.

    Attributes:
        seed: The run's root seed.
        rank: The distributed rank of this process.
        then: A further ``worker_init_fn(worker_id)`` to call, or ``None``.
    """

    seed: int
    rank: int = 0
    then: Any = None

    def __call__(self, worker_id: int) -> None:
        """Seed the current worker process (torch calls this inside each worker)."""
        from forge.core._reproducibility import seed_everything

        global _worker_origin
        _worker_origin = (self.seed, self.rank)
        seed_everything(derive_seed(self.seed, "worker", self.rank, worker_id, torch.initial_seed()) % (1 << 32))
        if self.then is not None:
            self.then(worker_id)


def reseed_batch(epoch: int, position: int) -> bool:
    """Seed python, numpy and torch (CPU) in a forge-started worker for the batch at ``position``.

    Workers call it as each batch begins, so a batch's random draws (augmentations) depend on
    ``(seed, rank, epoch, position of its first sample in the rank's epoch)`` alone: not on which
    worker makes it, how many workers there are, whether they persist, or where a run resumed.

    Args:
        epoch: The batch's epoch.
        position: Rank-local position of the batch's first sample in the epoch.

    Returns:
        Whether it reseeded: ``False`` outside a worker started with :class:`WorkerSeeder` (in the
        main process the trainer's generators are left alone).
    """
    if _worker_origin is None:
        return False
    seed, rank = _worker_origin
    value = derive_seed(seed, "batch", rank, epoch, position)
    random.seed(value)
    np.random.seed(value % (1 << 32))
    torch.default_generator.manual_seed(value)  # CPU only: workers leave CUDA alone, and it costs 1 µs, not 150
    return True


class BatchStart(int):
    """A dataset index that opens a batch, carrying the batch's epoch and rank-local position.

    :class:`~forge.core.data._sharding.ResumableSampler` yields one at the start of each batch when
    asked to; :class:`BatchSeededDataset` reseeds the worker from it before loading the batch.
    """

    epoch: int
    position: int

    def __new__(cls, index: int, epoch: int, position: int) -> BatchStart:
        """Make index ``index`` carry ``epoch`` and ``position``."""
        self = super().__new__(cls, index)
        self.epoch, self.position = epoch, position
        return self

    def __reduce__(self) -> tuple[type[BatchStart], tuple[int, int, int]]:
        return BatchStart, (int(self), self.epoch, self.position)


class BatchSeededDataset(Dataset[Any]):
    """A map-style dataset that reseeds a worker at each batch a :class:`BatchStart` opens.

    ``build_loader`` wraps map-style datasets in it when there are workers. Attribute lookups go
    to the wrapped dataset, which stays available as :attr:`dataset`.

    Args:
        dataset: The map-style dataset.
    """

    def __init__(self, dataset: Dataset[Any]) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]  # map-style datasets define __len__

    def __getitem__(self, index: int) -> Any:
        return self.dataset[index]

    def __getitems__(self, indices: list[int]) -> list[Any]:
        """Load one batch (torch's fetcher calls this with the batch's indices)."""
        if indices and isinstance(indices[0], BatchStart):
            first = indices[0]
            reseed_batch(first.epoch, first.position)
            indices = [int(first), *indices[1:]]
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is not None:
            items: list[Any] = getitems(indices)
            return items
        return [self.dataset[i] for i in indices]

    def __getattr__(self, name: str) -> Any:
        if name == "dataset":  # not set yet (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.dataset, name)
