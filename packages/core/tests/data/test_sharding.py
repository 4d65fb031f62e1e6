"""Iterable sharding over workers x ranks: every sample exactly once; exact resume."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path

import pytest
import torch

from forge.core.data._configs import LoaderConfig
from forge.core.data._loader import build_loader
from forge.core.data._sharding import shuffle_buffer, worker_consumed
from forge.core.data._streaming import JsonlStream

SHARD_SIZES = (7, 0, 13, 2, 5)  # uneven, one empty


@pytest.fixture()
def shards(tmp_path: Path) -> list[Path]:
    paths, start = [], 0
    for number, size in enumerate(SHARD_SIZES):
        path = tmp_path / f"s{number}.jsonl"
        path.write_text("".join(json.dumps({"id": start + i}) + "\n" for i in range(size)), encoding="utf-8")
        paths.append(path)
        start += size
    return paths


TOTAL = sum(SHARD_SIZES)


@pytest.mark.parametrize("shuffle", [0, 5])
@pytest.mark.parametrize("batch_size", [1, 3])
def test_every_sample_once_for_1_to_4_workers_and_1_to_3_ranks(
    shards: list[Path], shuffle: int, batch_size: int
) -> None:
    for workers, ranks in itertools.product(range(1, 5), range(1, 4)):
        seen: Counter[int] = Counter()
        for rank in range(ranks):
            ds = JsonlStream(shards, keys="id", shuffle_buffer=shuffle, shuffle_files=True, seed=2)
            ds.configure(rank=rank, world_size=ranks, batch_size=batch_size, epoch=1)
            for worker in range(workers):
                seen.update(ds.iter_shard(worker, workers))
        assert seen == Counter(range(TOTAL)), (workers, ranks)


@pytest.mark.parametrize(("workers", "ranks"), [(2, 1), (2, 3), (4, 2)])
def test_real_dataloader_workers_read_each_sample_once(shards: list[Path], workers: int, ranks: int) -> None:
    seen: list[int] = []
    for rank in range(ranks):
        ds = JsonlStream(shards, keys="id", shuffle_buffer=4, seed=0)
        loader = build_loader(ds, LoaderConfig(batch_size=2, num_workers=workers), seed=0, rank=rank, world_size=ranks)
        seen.extend(int(i) for batch in loader for i in batch)
    assert sorted(seen) == list(range(TOTAL))


def test_batches_arrive_in_single_process_order_whatever_the_workers(shards: list[Path]) -> None:
    def order(workers: int) -> list[int]:
        ds = JsonlStream(shards, keys="id", seed=0)
        config = LoaderConfig(batch_size=3, num_workers=workers)
        return [int(i) for b in build_loader(ds, config, seed=0, rank=1, world_size=2) for i in b]

    assert order(2) == order(0) == list(range(1, TOTAL, 2))


def test_iterable_resume_mid_epoch_is_exact_with_workers(shards: list[Path]) -> None:
    config = LoaderConfig(batch_size=2, num_workers=2)

    def make() -> JsonlStream:
        return JsonlStream(shards, keys="id", shuffle_buffer=6, shuffle_files=True, seed=9)

    expected = [int(i) for b in build_loader(make(), config, seed=9, epoch=3) for i in b]
    loader = build_loader(make(), config, seed=9, epoch=3)
    it = iter(loader)
    head = [int(i) for _ in range(5) for i in next(it)]
    state = loader.state_dict()
    del it
    assert state == {"epoch": 3, "index": 10}
    resumed = build_loader(make(), config, seed=9)
    resumed.load_state_dict(state)
    assert head + [int(i) for b in resumed for i in b] == expected


def test_worker_consumed_matches_round_robin() -> None:
    # 3 workers, batch 2: batches 0,1,2,3 consumed -> worker 0 did batches 0 and 3.
    assert [worker_consumed(8, 2, 3, w) for w in range(3)] == [4, 2, 2]
    assert worker_consumed(0, 2, 3, 0) == 0


def test_shuffle_buffer_is_a_seeded_bounded_permutation() -> None:
    import random

    items = list(range(50))
    out = list(shuffle_buffer(iter(items), 8, random.Random(1)))
    assert sorted(out) == items and out != items
    assert out == list(shuffle_buffer(iter(items), 8, random.Random(1)))
    # bounded: nothing is emitted before the buffer has filled, so item k appears at position >= k - 8
    assert all(pos >= item - 8 for pos, item in enumerate(out))


def test_only_owned_records_are_decoded(shards: list[Path]) -> None:
    class Counting(JsonlStream):
        decoded = 0

        def decode(self, raw: tuple[str, int, bytes]) -> object:
            Counting.decoded += 1
            return super().decode(raw)

    ds = Counting(shards, keys="id")
    ds.configure(rank=0, world_size=3, batch_size=1)
    got = list(ds.iter_shard(1, 2))
    assert Counting.decoded == len(got) < TOTAL // 3 + 2
    assert all(torch.is_tensor(torch.tensor(g)) for g in got)


def _order_of(loader: object) -> list[int]:
    return [int(i) for batch in loader for i in batch]  # type: ignore[attr-defined]


def test_persistent_workers_follow_set_epoch_and_resume(shards: list[Path]) -> None:
    def make() -> JsonlStream:
        return JsonlStream(shards, keys="id", shuffle_files=True, shuffle_buffer=4, seed=5)

    def fresh_workers(epoch: int) -> list[int]:
        config = LoaderConfig(batch_size=2, num_workers=2, persistent_workers=False)
        return _order_of(build_loader(make(), config, seed=0, epoch=epoch))

    loader = build_loader(make(), LoaderConfig(batch_size=2, num_workers=2), seed=0)
    assert loader.persistent_workers  # the default for forge streams
    orders = []
    for epoch in range(3):
        loader.set_epoch(epoch)
        orders.append(_order_of(loader))
        assert orders[-1] == fresh_workers(epoch), epoch
    assert orders[0] != orders[1] != orders[2]

    # mid-epoch resume into the same loader, whose workers have served three epochs already
    loader.set_epoch(3)
    it = iter(loader)
    head = [int(i) for _ in range(3) for i in next(it)]
    state = loader.state_dict()
    del it
    loader.load_state_dict(state)
    assert head + _order_of(loader) == fresh_workers(3)


def _noisy(sample: int) -> tuple[int, float]:
    return sample, float(torch.rand(()))


def _draws(loader: object) -> list[tuple[int, float]]:
    return [(int(i), float(x)) for ids, draws in loader for i, x in zip(ids, draws, strict=True)]  # type: ignore[attr-defined]


def test_stream_draws_depend_on_the_batch_position_alone(shards: list[Path]) -> None:
    def loader(workers: int, persistent: bool = True, epoch: int = 0) -> object:
        config = LoaderConfig(batch_size=3, num_workers=workers, persistent_workers=persistent)
        return build_loader(JsonlStream(shards, keys="id", transform=_noisy), config, seed=4, epoch=epoch)

    persistent = loader(2)
    epochs = []
    for epoch in range(3):
        persistent.set_epoch(epoch)  # type: ignore[attr-defined]
        epochs.append(_draws(persistent))
    assert epochs[0] != epochs[1]
    # the same numbers with other worker counts, without persistence, or resumed at epoch 2
    assert epochs[2] == _draws(loader(1, epoch=2)) == _draws(loader(3, persistent=False, epoch=2))

    # and after a mid-epoch resume
    interrupted = loader(2, epoch=2)
    it = iter(interrupted)  # type: ignore[call-overload]
    head = [(int(i), float(x)) for _ in range(3) for i, x in zip(*next(it), strict=True)]
    state = interrupted.state_dict()  # type: ignore[attr-defined]
    del it
    resumed = loader(3)
    resumed.load_state_dict(state)  # type: ignore[attr-defined]
    assert head + _draws(resumed) == epochs[2]


def test_spawned_persistent_workers_share_the_position(shards: list[Path]) -> None:
    # spawn pickles the dataset into the worker: the shared position must travel as shared memory
    config = LoaderConfig(batch_size=2, num_workers=1, multiprocessing_context="spawn")
    loader = build_loader(JsonlStream(shards, keys="id", shuffle_files=True, seed=1), config, seed=0)
    single = LoaderConfig(batch_size=2, num_workers=0)
    for epoch in (0, 1):
        loader.set_epoch(epoch)
        assert _order_of(loader) == _order_of(
            build_loader(JsonlStream(shards, keys="id", shuffle_files=True, seed=1), single, seed=0, epoch=epoch)
        )
