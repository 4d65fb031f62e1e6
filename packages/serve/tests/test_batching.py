"""The dynamic batcher on its own: grouping, per-request replies, isolation of bad items, drops, backpressure."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import torch
from torch import Tensor

from forge.serve.batching import Batcher, ClientDisconnected, split_output
from forge.serve.errors import Overloaded, RequestError, RequestTimeout, Unavailable


class Recorder:
    def __init__(self, fail_on: float | None = None, sleep: float = 0.0) -> None:
        self.batches: list[int] = []
        self.fail_on = fail_on
        self.sleep = sleep

    def __call__(self, x: Tensor) -> Tensor:
        self.batches.append(int(x.shape[0]))
        time.sleep(self.sleep)
        if self.fail_on is not None and bool((x == self.fail_on).any()):
            raise ValueError("bad value")
        return x * 10


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def _batcher(model: Recorder, **kw: Any) -> Batcher:
    return Batcher(model, ThreadPoolExecutor(1), **kw)


def test_requests_are_grouped_and_each_gets_its_slice() -> None:
    model = Recorder()

    async def main() -> list[Any]:
        b = _batcher(model, max_batch_size=8, max_wait_s=0.05)
        b.start()
        deadline = time.monotonic() + 5
        outs = await asyncio.gather(*(b.infer(torch.full((1, 3), float(i)), deadline=deadline) for i in range(8)))
        await b.stop()
        return outs

    outs = _run(main())
    assert [o.tolist() for o in outs] == [[[i * 10.0] * 3] for i in range(8)]
    assert model.batches == [8]


def test_batches_respect_max_size_and_multi_sample_requests() -> None:
    model = Recorder()

    async def main() -> list[Any]:
        b = _batcher(model, max_batch_size=4, max_wait_s=0.05)
        b.start()
        deadline = time.monotonic() + 5
        sizes = [3, 2, 1, 2]
        outs = await asyncio.gather(*(b.infer(torch.ones(n, 2) * n, deadline=deadline) for n in sizes))
        await b.stop()
        return outs

    outs = _run(main())
    assert [tuple(o.shape) for o in outs] == [(3, 2), (2, 2), (1, 2), (2, 2)]
    assert all(b <= 4 for b in model.batches) and sum(model.batches) == 8


def test_shapes_that_cannot_stack_go_to_separate_batches() -> None:
    model = Recorder()

    async def main() -> list[Any]:
        b = _batcher(model, max_batch_size=8, max_wait_s=0.05)
        b.start()
        d = time.monotonic() + 5
        outs = await asyncio.gather(
            b.infer(torch.ones(1, 2), deadline=d),
            b.infer(torch.ones(1, 3), deadline=d),
            b.infer(torch.ones(1, 2), deadline=d),
        )
        await b.stop()
        return outs

    outs = _run(main())
    assert [tuple(o.shape) for o in outs] == [(1, 2), (1, 3), (1, 2)]
    assert sorted(model.batches) == [1, 2]


def test_a_bad_item_fails_alone() -> None:
    model = Recorder(fail_on=-1.0)

    async def main() -> list[Any]:
        b = _batcher(model, max_batch_size=8, max_wait_s=0.05)
        b.start()
        d = time.monotonic() + 5
        xs = [torch.full((1, 2), v) for v in (1.0, -1.0, 2.0)]
        outs = await asyncio.gather(*(b.infer(x, deadline=d) for x in xs), return_exceptions=True)
        await b.stop()
        return outs

    good, bad, other = _run(main())
    assert good.tolist() == [[10.0, 10.0]] and other.tolist() == [[20.0, 20.0]]
    assert isinstance(bad, RequestError) and bad.status == 500 and "bad value" in bad.message


def test_full_queue_is_refused_at_once() -> None:
    model = Recorder(sleep=0.2)

    async def main() -> list[Any]:
        b = _batcher(model, max_batch_size=1, max_wait_s=0.0, queue_size=2, retry_after_s=3)
        b.start()
        d = time.monotonic() + 5
        outs = await asyncio.gather(*(b.infer(torch.ones(1, 1), deadline=d) for _ in range(5)), return_exceptions=True)
        await b.stop()
        return outs

    outs = _run(main())
    refused = [o for o in outs if isinstance(o, Overloaded)]
    assert len(refused) == 3 and refused[0].status == 429 and refused[0].headers == {"Retry-After": "3"}


def test_deadline_and_disconnect_drop_queued_work() -> None:
    model = Recorder(sleep=0.3)

    async def main() -> tuple[Any, ...]:
        b = _batcher(model, max_batch_size=1, max_wait_s=0.0)
        b.start()
        now = time.monotonic()
        first = asyncio.ensure_future(b.infer(torch.ones(1, 1), deadline=now + 5))
        await asyncio.sleep(0.05)
        gone = asyncio.get_running_loop().create_future()
        leaving = asyncio.ensure_future(b.infer(torch.ones(1, 1) * 2, deadline=now + 5, disconnected=gone))
        late = asyncio.ensure_future(b.infer(torch.ones(1, 1) * 3, deadline=now + 0.1))
        await asyncio.sleep(0.05)
        gone.set_result(None)
        outs = await asyncio.gather(first, leaving, late, return_exceptions=True)
        await asyncio.sleep(0.4)
        await b.stop()
        return (*outs, b)

    first, leaving, late, b = _run(main())
    assert first.tolist() == [[10.0]]
    assert isinstance(leaving, ClientDisconnected)
    assert isinstance(late, RequestTimeout) and late.status == 504
    assert model.batches == [1], "dropped requests were computed"
    # both were given up by their waiters (disconnect, deadline) before their batch formed
    assert b.dropped_requests["cancelled"] == 2 and b.computed_requests == 1


def test_closed_batcher_refuses_with_503() -> None:
    async def main() -> None:
        b = _batcher(Recorder())
        b.start()
        b.close()
        with pytest.raises(Unavailable):
            b.submit(torch.ones(1, 1), deadline=time.monotonic() + 1)
        await b.stop()

    _run(main())


def test_split_output_kinds() -> None:
    out = {"a": torch.arange(6).reshape(3, 2), "b": (torch.arange(3), torch.zeros(3, 1))}
    parts = split_output(out, [1, 2])
    assert parts[0]["a"].tolist() == [[0, 1]] and parts[1]["b"][0].tolist() == [1, 2]
    with pytest.raises(RequestError, match="no batch dimension of 3"):
        split_output(torch.zeros(2), [1, 2])
    with pytest.raises(RequestError, match="cannot be split"):
        split_output("text", [1])


@pytest.mark.parametrize(("arriving", "batches"), [(0, [1, 1]), (1, [2])])
def test_lone_request_waits_only_when_more_are_arriving(arriving: int, batches: list[int]) -> None:
    model = Recorder()

    async def main() -> None:
        b = _batcher(model, max_batch_size=8, max_wait_s=0.5, arriving=lambda: arriving)
        b.start()
        d = time.monotonic() + 5
        first = asyncio.ensure_future(b.infer(torch.ones(1, 1), deadline=d))
        await asyncio.sleep(0.1)
        await asyncio.gather(first, b.infer(torch.ones(1, 1), deadline=d))
        await b.stop()

    _run(main())
    assert model.batches == batches
