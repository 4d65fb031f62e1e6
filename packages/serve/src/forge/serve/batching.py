"""Dynamic batching: requests wait in a bounded queue and run through the model together.

A :class:`Batcher` owns one model's admission queue in one worker process. ``await
batcher.infer(x, deadline=...)`` admits a request tensor (batch dimension first) or refuses it at
once (:class:`~forge.serve.errors.Overloaded` when the queue is full,
:class:`~forge.serve.errors.Unavailable` when the batcher is closing); a single background task
groups queued requests of the same per-sample shape and dtype, up to ``max_batch_size`` samples
or until the oldest has waited ``max_wait_s``, runs them in one forward pass on the model thread,
and hands each request its own slice of the output.

- A request whose client went away or whose deadline passed while it queued is dropped before
  the batch is formed, so its work is never computed (``cancelled`` / ``expired`` counters).
- When a batched forward pass raises, each request of the batch is run alone, so only the
  requests the model fails on get the error.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any, Protocol

import torch
from torch import Tensor

from forge.serve.errors import Overloaded, RequestError, RequestTimeout, Unavailable

__all__ = ["BatchObserver", "Batcher", "ClientDisconnected", "split_output"]


class ClientDisconnected(Exception):
    """The client went away while its request waited; the request was dropped."""


class BatchObserver(Protocol):
    """What a batcher reports (the server's metrics implement it)."""

    def batch_done(self, size: int, requests: int, seconds: float) -> None:
        """A forward pass of ``size`` samples from ``requests`` requests took ``seconds``."""

    def queue_depth(self, depth: int) -> None:
        """The number of requests queued changed to ``depth``."""

    def dropped(self, reason: str) -> None:
        """A queued request was dropped before computing: ``"cancelled"`` or ``"expired"``."""


class _NullObserver:
    def batch_done(self, size: int, requests: int, seconds: float) -> None:
        pass

    def queue_depth(self, depth: int) -> None:
        pass

    def dropped(self, reason: str) -> None:
        pass


class _Item:
    __slots__ = ("deadline", "enqueued", "future", "key", "x")

    def __init__(self, x: Tensor, future: asyncio.Future[Any], deadline: float) -> None:
        self.x = x
        self.future = future
        self.deadline = deadline
        self.enqueued = time.monotonic()
        self.key = (tuple(x.shape[1:]), x.dtype)


def split_output(output: Any, sizes: Sequence[int]) -> list[Any]:
    """Split a batched model output (a tensor, or a tuple, list or mapping of tensors) into per-request parts.

    Raises:
        RequestError: the output is of a kind that cannot be split, or its batch dimension does not match.
    """
    total = sum(sizes)
    if isinstance(output, Tensor):
        if output.dim() == 0 or output.shape[0] != total:
            raise RequestError(
                f"model output of shape {list(output.shape)} has no batch dimension of {total}", status=500
            )
        return list(torch.split(output, list(sizes)))
    if isinstance(output, Mapping):
        parts = {k: split_output(v, sizes) for k, v in output.items()}
        return [{k: parts[k][i] for k in parts} for i in range(len(sizes))]
    if isinstance(output, (tuple, list)):
        columns = [split_output(v, sizes) for v in output]
        return [type(output)(col[i] for col in columns) for i in range(len(sizes))]
    raise RequestError(f"model output of type {type(output).__name__} cannot be split per request", status=500)


class Batcher:
    """One model's bounded admission queue and batching loop (see the module docs).

    Args:
        forward: Runs the model on a batch (called on ``executor``'s thread, under ``torch.inference_mode``).
        executor: Where forward passes run (one thread per device keeps the event loop free).
        max_batch_size: Most samples in one forward pass.
        max_wait_s: Longest the oldest queued request waits for a batch to fill.
        queue_size: Most requests admitted and not yet answered.
        retry_after_s: ``Retry-After`` of the 429 and 503 answers.
        observer: Receives batch sizes, queue depth and drops.
        name: The model's name, for messages.
        arriving: Counts requests that are being received or decoded and will be submitted soon.
            When the last batch held a single request (sparse traffic) and this count is 0, a
            batch runs at once instead of waiting ``max_wait_s`` for company; under load batches
            always wait. None: always wait up to ``max_wait_s``.
    """

    def __init__(
        self,
        forward: Callable[[Tensor], Any],
        executor: Executor,
        *,
        max_batch_size: int = 16,
        max_wait_s: float = 0.005,
        queue_size: int = 256,
        retry_after_s: int = 1,
        observer: BatchObserver | None = None,
        name: str = "model",
        arriving: Callable[[], int] | None = None,
    ) -> None:
        self._forward = forward
        self._executor = executor
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self.queue_size = queue_size
        self.retry_after_s = retry_after_s
        self.name = name
        self._observer: BatchObserver = observer or _NullObserver()
        self._arriving = arriving
        self._lone = True  # the last batch held one request: traffic is sparse, so a lone request need not wait
        self._queue: collections.deque[_Item] = collections.deque()
        self._wakeup = asyncio.Event()
        self._admitted = 0
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self.computed_requests = 0
        """Requests that went through a forward pass."""
        self.dropped_requests: collections.Counter[str] = collections.Counter()
        """Queued requests dropped before computing, by reason."""

    @property
    def admitted(self) -> int:
        """Requests admitted and not yet answered (queued or computing)."""
        return self._admitted

    def start(self) -> None:
        """Start the batching loop on the running event loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name=f"batcher-{self.name}")

    def close(self) -> None:
        """Refuse new requests (503); those already admitted still run."""
        self._closed = True

    async def stop(self) -> None:
        """Stop the loop; requests still queued are answered 503."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        while self._queue:
            item = self._queue.popleft()
            if not item.future.done():
                item.future.set_exception(Unavailable(f"model {self.name} stopped", self.retry_after_s))

    def submit(self, x: Tensor, *, deadline: float) -> asyncio.Future[Any]:
        """Admit ``x`` (batch dimension first) and return the future of its output.

        Cancelling the future before its batch forms drops the request (its work is never done).

        Raises:
            Unavailable: the batcher is closing.
            Overloaded: ``queue_size`` requests are already admitted.
        """
        if self._closed:
            raise Unavailable(f"model {self.name} is not accepting requests (shutting down)", self.retry_after_s)
        if self._admitted >= self.queue_size:
            raise Overloaded(
                f"model {self.name}: admission queue full ({self.queue_size} requests); retry later",
                self.retry_after_s,
            )
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._admitted += 1
        future.add_done_callback(self._release)
        self._queue.append(_Item(x, future, deadline))
        self._observer.queue_depth(len(self._queue))
        self._wakeup.set()
        return future

    def _release(self, _: asyncio.Future[Any]) -> None:
        self._admitted -= 1

    async def infer(self, x: Tensor, *, deadline: float, disconnected: Awaitable[Any] | None = None) -> Any:
        """Admit ``x``, wait for its output, and give up at ``deadline`` or when ``disconnected`` completes.

        Args:
            x: The request's input, batch dimension first.
            deadline: ``time.monotonic()`` value past which the request is answered 504.
            disconnected: Completes when the client goes away; the request is then dropped.

        Returns:
            The request's slice of the model output.

        Raises:
            Overloaded, Unavailable: not admitted.
            RequestTimeout: the deadline passed.
            RequestError: the model failed on this input (500).
            ClientDisconnected: the client disconnected (the request was dropped).
        """
        future = self.submit(x, deadline=deadline)
        watcher = asyncio.ensure_future(disconnected) if disconnected is not None else None
        try:
            waiters: set[asyncio.Future[Any]] = {future} | ({watcher} if watcher is not None else set())
            done, _ = await asyncio.wait(
                waiters, timeout=max(0.0, deadline - time.monotonic()), return_when=asyncio.FIRST_COMPLETED
            )
            if future in done:
                return future.result()
            if watcher is not None and watcher in done:
                future.cancel()
                raise ClientDisconnected(f"client disconnected from a {self.name} request")
            future.cancel()
            raise RequestTimeout(f"model {self.name}: no answer within the request deadline")
        finally:
            if not future.done():
                future.cancel()
            if watcher is not None and not watcher.done():
                watcher.cancel()

    # -- the loop ---------------------------------------------------------------------------
    def _next_live(self) -> _Item | None:
        now = time.monotonic()
        while self._queue:
            item = self._queue.popleft()
            if self._keep(item, now):
                return item
        return None

    def _keep(self, item: _Item, now: float) -> bool:
        if item.future.done():  # cancelled: the client went away or gave up
            self.dropped_requests["cancelled"] += 1
            self._observer.dropped("cancelled")
            return False
        if now >= item.deadline:
            item.future.set_exception(RequestTimeout(f"model {self.name}: request deadline passed while queued"))
            self.dropped_requests["expired"] += 1
            self._observer.dropped("expired")
            return False
        return True

    def _take_compatible(self, batch: list[_Item], samples: int) -> int:
        key = batch[0].key
        kept: collections.deque[_Item] = collections.deque()
        now = time.monotonic()
        while self._queue and samples < self.max_batch_size:
            item = self._queue.popleft()
            if not self._keep(item, now):
                continue
            n = int(item.x.shape[0])
            if item.key == key and samples + n <= self.max_batch_size:
                batch.append(item)
                samples += n
            else:
                kept.append(item)
        kept.extend(self._queue)
        self._queue = kept
        return samples

    async def _loop(self) -> None:
        while True:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
            first = self._next_live()
            if first is None:
                continue
            batch = [first]
            samples = self._take_compatible(batch, int(first.x.shape[0]))
            fill_by = first.enqueued + self.max_wait_s
            while samples < self.max_batch_size:
                remaining = fill_by - time.monotonic()
                if remaining <= 0 or (self._lone and self._arriving is not None and self._arriving() == 0):
                    break
                self._wakeup.clear()
                try:
                    await asyncio.wait_for(self._wakeup.wait(), remaining)
                except TimeoutError:
                    break
                samples = self._take_compatible(batch, samples)
            now = time.monotonic()
            live = [item for item in batch if self._keep(item, now)]
            self._observer.queue_depth(len(self._queue))
            if live:
                await self._run(live)

    async def _run(self, batch: list[_Item]) -> None:
        loop = asyncio.get_running_loop()
        sizes = [int(item.x.shape[0]) for item in batch]
        start = time.perf_counter()
        try:
            parts = await loop.run_in_executor(self._executor, self._compute, [i.x for i in batch], sizes)
        except Exception as exc:  # the batch failed: find the request(s) that made it fail
            if len(batch) == 1:
                self._fail(batch[0], exc)
            else:
                for item in batch:
                    if item.future.done():
                        continue
                    try:
                        (part,) = await loop.run_in_executor(
                            self._executor, self._compute, [item.x], [int(item.x.shape[0])]
                        )
                    except Exception as single:
                        self._fail(item, single)
                    else:
                        self._resolve(item, part)
            parts = None
        self.computed_requests += len(batch)
        self._lone = len(batch) == 1
        self._observer.batch_done(sum(sizes), len(batch), time.perf_counter() - start)
        if parts is not None:
            for item, part in zip(batch, parts, strict=True):
                self._resolve(item, part)

    def _compute(self, xs: list[Tensor], sizes: list[int]) -> list[Any]:
        x = xs[0] if len(xs) == 1 else torch.cat(xs)
        with torch.inference_mode():
            out = self._forward(x)
        return split_output(out, sizes)

    @staticmethod
    def _resolve(item: _Item, part: Any) -> None:
        if not item.future.done():
            item.future.set_result(part)

    def _fail(self, item: _Item, exc: BaseException) -> None:
        if item.future.done():
            return
        if isinstance(exc, RequestError):
            item.future.set_exception(exc)
        else:
            item.future.set_exception(
                RequestError(f"model {self.name} failed on this input: {type(exc).__name__}: {exc}", status=500)
            )
