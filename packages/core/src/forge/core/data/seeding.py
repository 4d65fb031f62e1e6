"""Seeds for data loading: one root seed, derived deterministically for each epoch, rank and worker.

Derivation goes through sha256, never Python's salted ``hash()``, so the same root seed gives the
same streams on every machine and every run, and different (seed, epoch, rank, worker) tuples never
collide the way ``seed + epoch`` would (seed 1 epoch 0 == seed 0 epoch 1).
"""

from __future__ import annotations

import hashlib
from typing import Any

import attrs

__all__ = ["WorkerSeeder", "derive_seed", "reseed_worker"]

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
        import torch

        from forge.core.reproducibility import seed_everything

        global _worker_origin
        _worker_origin = (self.seed, self.rank)
        seed_everything(derive_seed(self.seed, "worker", self.rank, worker_id, torch.initial_seed()) % (1 << 32))
        if self.then is not None:
            self.then(worker_id)


def reseed_worker(worker_id: int, epoch: int) -> bool:
    """Reseed python, numpy and torch in a forge-started worker for ``epoch``.

    A persistent worker is seeded once, when it starts; a stream calls this each time it restarts
    in a worker, so the random draws of epoch ``e`` depend on ``(seed, rank, worker, e)`` alone,
    whether the worker is new or has served earlier epochs (a run resumed at an epoch boundary
    draws what an uninterrupted one would).

    Returns:
        Whether it reseeded: ``False`` outside a worker started with :class:`WorkerSeeder`.
    """
    if _worker_origin is None:
        return False
    from forge.core.reproducibility import seed_everything

    seed, rank = _worker_origin
    seed_everything(derive_seed(seed, "worker", rank, worker_id, "epoch", epoch) % (1 << 32))
    return True
