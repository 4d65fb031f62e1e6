"""The DataLoader factory: tuned defaults, seeding, exact mid-epoch resume for map-style data."""

from __future__ import annotations

import pickle
import random
from typing import Any

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from forge.core.data._configs import LoaderConfig
from forge.core.data._loader import build_loader, resolve_settings
from forge.core.data._seeding import BatchSeededDataset, BatchStart, WorkerSeeder, derive_seed
from forge.core.data._sharding import ResumableSampler
from forge.core.errors import ConfigError, DataError


class Indexed(Dataset[int]):
    """Returns its index; counts reads (in this process only)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.reads: list[int] = []

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> int:
        self.reads.append(index)
        return index


class RandomDraws(Dataset[Any]):
    """Returns draws from python, numpy and torch global generators (as augmentations do)."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> Any:
        return torch.tensor([random.random(), float(np.random.rand()), float(torch.rand(()))])


def test_defaults_are_tuned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("forge.core.data._loader._cpu_count", lambda: 16)
    settings = resolve_settings(LoaderConfig(), iterable=False)
    assert settings["num_workers"] == 4
    assert settings["prefetch_factor"] == 2 and settings["persistent_workers"] is True
    assert settings["pin_memory"] == torch.cuda.is_available()
    assert resolve_settings(LoaderConfig(), iterable=True)["persistent_workers"] is False
    monkeypatch.setattr("forge.core.data._loader._cpu_count", lambda: 2)
    assert resolve_settings(LoaderConfig(), iterable=False)["num_workers"] == 2


def test_every_knob_is_overridable() -> None:
    config = LoaderConfig(batch_size=3, num_workers=1, pin_memory=False, prefetch_factor=5, persistent_workers=False)
    settings = resolve_settings(config, iterable=False)
    assert (settings["num_workers"], settings["prefetch_factor"], settings["persistent_workers"]) == (1, 5, False)
    assert "prefetch_factor" not in resolve_settings(LoaderConfig(num_workers=0), iterable=False)
    with pytest.raises(ConfigError, match="prefetch_factor"):
        resolve_settings(LoaderConfig(num_workers=0, prefetch_factor=2), iterable=False)


def _order(loader: Any) -> list[int]:
    return [int(i) for batch in loader for i in batch]


def test_same_seed_same_order_and_epochs_differ() -> None:
    config = LoaderConfig(batch_size=4, num_workers=0)
    a, b = build_loader(Indexed(20), config, seed=3), build_loader(Indexed(20), config, seed=3)
    first = _order(a)
    assert first == _order(b) and sorted(first) == list(range(20))
    a.set_epoch(1)
    assert _order(a) != first
    assert _order(build_loader(Indexed(20), config, seed=4)) != first


def test_ranks_partition_each_epoch() -> None:
    config = LoaderConfig(batch_size=2, num_workers=0)
    seen = [_order(build_loader(Indexed(11), config, seed=0, rank=r, world_size=3)) for r in range(3)]
    assert {len(s) for s in seen} == {4}  # padded to equal length for DDP
    assert set().union(*map(set, seen)) == set(range(11))


def test_resume_mid_epoch_is_exact_and_skips_without_reading() -> None:
    config = LoaderConfig(batch_size=3, num_workers=0)
    full = build_loader(Indexed(17), config, seed=7, epoch=2)
    expected = _order(full)
    interrupted = build_loader(Indexed(17), config, seed=7, epoch=2)
    it = iter(interrupted)
    consumed = [int(i) for _ in range(2) for i in next(it)]
    state = interrupted.state_dict()
    assert state == {"epoch": 2, "index": 6}
    fresh_data = Indexed(17)
    resumed = build_loader(fresh_data, config, seed=7)
    resumed.load_state_dict(state)
    rest = _order(resumed)
    assert consumed + rest == expected
    assert sorted(fresh_data.reads) == sorted(rest)  # the six consumed samples were never read
    assert resumed.state_dict() == {"epoch": 2, "index": 17}


def test_resume_with_workers_counts_consumed_not_prefetched() -> None:
    config = LoaderConfig(batch_size=2, num_workers=2, persistent_workers=False)
    expected = _order(build_loader(Indexed(15), config, seed=1))
    loader = build_loader(Indexed(15), config, seed=1)
    it = iter(loader)
    head = [int(i) for _ in range(3) for i in next(it)]
    state = loader.state_dict()
    del it
    assert state["index"] == 6  # the workers had prefetched more than that
    resumed = build_loader(Indexed(15), config, seed=1)
    resumed.load_state_dict(state)
    assert head + _order(resumed) == expected


class IndexedDraws(Dataset[Any]):
    """Returns its index and one draw from each global generator, as an augmentation would."""

    def __len__(self) -> int:
        return 23

    def __getitem__(self, index: int) -> Any:
        return index, torch.tensor([random.random(), float(np.random.rand()), float(torch.rand(()))])


def _indexed_draws(loader: Any) -> list[tuple[int, list[float]]]:
    return [(int(i), row.tolist()) for ids, rows in loader for i, row in zip(ids, rows, strict=True)]


def test_worker_draws_follow_the_batch_not_the_worker_or_the_resume() -> None:
    def loader(workers: int, persistent: bool = True) -> Any:
        config = LoaderConfig(batch_size=4, num_workers=workers, persistent_workers=persistent)
        return build_loader(IndexedDraws(), config, seed=8, epoch=1)

    full = _indexed_draws(loader(2))
    assert full == _indexed_draws(loader(1)) == _indexed_draws(loader(3, persistent=False))
    assert len({tuple(d) for _, d in full}) == len(full)  # no two samples drew alike
    interrupted = loader(2)
    it = iter(interrupted)
    head = [(int(i), row.tolist()) for _ in range(3) for i, row in zip(*next(it), strict=True)]
    state = interrupted.state_dict()
    del it
    resumed = loader(3)
    resumed.load_state_dict(state)
    assert head + _indexed_draws(resumed) == full
    resumed.set_epoch(2)
    assert [d for _, d in _indexed_draws(resumed)] != [d for _, d in full]


def test_batch_seeded_dataset_passes_attributes_and_getitems_through() -> None:
    class Batched(Indexed):
        label_names = ("a", "b")

        def __getitems__(self, indices: list[int]) -> list[int]:
            return [i * 10 for i in indices]

    wrapped = BatchSeededDataset(Batched(5))
    assert len(wrapped) == 5 and wrapped.label_names == ("a", "b") and wrapped[3] == 3
    first = BatchStart(2, epoch=0, position=0)
    assert wrapped.__getitems__([first, 4]) == [20, 40]  # outside a worker: no reseed, plain ints
    assert pickle.loads(pickle.dumps(first)) == 2 and pickle.loads(pickle.dumps(first)).position == 0


def test_worker_seeds_differ_per_batch_and_rank_and_repeat_per_seed() -> None:
    config = LoaderConfig(batch_size=1, num_workers=2, shuffle=False, persistent_workers=False)

    def draws(seed: int, rank: int) -> list[list[float]]:
        return [b[0].tolist() for b in build_loader(RandomDraws(), config, seed=seed, rank=rank, world_size=2)]

    run = draws(0, 0)
    assert run == draws(0, 0)
    assert run[0] != run[1]  # worker 0 and worker 1
    assert run != draws(0, 1)  # another rank
    assert run != draws(1, 0)


def test_worker_seeder_chains_user_fn() -> None:
    calls: list[int] = []
    WorkerSeeder(seed=1, then=calls.append)(3)
    assert calls == [3]


def test_derive_seed_avoids_additive_collisions() -> None:
    assert derive_seed(1, 0) != derive_seed(0, 1)
    assert derive_seed(5, "x") == derive_seed(5, "x")


def test_sampler_state_round_trip_and_errors() -> None:
    sampler = ResumableSampler(10, seed=0, drop_last=True, world_size=3, rank=2)
    assert len(sampler) == 3
    with pytest.raises(DataError, match="only 3"):
        sampler.load_state_dict({"epoch": 0, "index": 4})
    with pytest.raises(DataError, match="exactly"):
        sampler.load_state_dict({"epoch": 0})  # malformed on purpose
    with pytest.raises(DataError, match="rank 3"):
        ResumableSampler(10, seed=0, rank=3, world_size=3)
    with pytest.raises(DataError, match="mark_batches"):
        ResumableSampler(10, seed=0, mark_batches=-1)


def test_plain_iterable_refused_across_ranks() -> None:
    class Stream(torch.utils.data.IterableDataset[int]):
        def __iter__(self) -> Any:
            return iter(range(3))

    with pytest.raises(DataError, match="cannot shard"):
        build_loader(Stream(), LoaderConfig(num_workers=0), seed=0, world_size=2)
    with pytest.raises(DataError, match="cannot resume"):
        build_loader(Stream(), LoaderConfig(num_workers=0), seed=0).load_state_dict({"epoch": 0, "index": 1})
