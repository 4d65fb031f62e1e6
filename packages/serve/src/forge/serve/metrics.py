"""Prometheus metrics of the server, correct across worker processes.

With several workers, ``forge serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a folder shared by
them before any of them imports ``prometheus_client``; each process then writes its samples to
memory-mapped files there and ``/metrics`` (answered by whichever worker gets the scrape) sums
them with ``MultiProcessCollector``: counters and histograms add up, the queue-depth and
in-flight gauges sum over live processes, memory is reported per process (``pid`` label).
In a single process without that variable the metrics live in the app's own registry.
"""

from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["CONTENT_TYPE", "ModelObserver", "ServeMetrics", "multiprocess_dir"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_BATCH = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def multiprocess_dir() -> str | None:
    """The shared metrics folder of a multi-process server, or None in a single process."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # not Linux: fall back to the peak size
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


class ServeMetrics:
    """Every metric the server exports (see the module docs for how processes combine)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "forge_serve_requests", "Requests answered, by model, version, route and status.",
            ("model", "version", "route", "status"), registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "forge_serve_request_seconds", "Whole-request latency (queue wait + execution).",
            ("model", "route"), buckets=_LATENCY, registry=r,
        )  # fmt: skip
        self.queue_depth = Gauge(
            "forge_serve_queue_depth", "Requests waiting for a batch.", ("model", "version"),
            multiprocess_mode="livesum", registry=r,
        )  # fmt: skip
        self.inflight = Gauge(
            "forge_serve_inflight_requests", "Requests being handled.", multiprocess_mode="livesum", registry=r
        )
        self.batch_size = Histogram(
            "forge_serve_batch_size", "Samples per forward pass.", ("model", "version"), buckets=_BATCH, registry=r
        )
        self.batch_seconds = Histogram(
            "forge_serve_batch_seconds", "Duration of one forward pass.", ("model", "version"),
            buckets=_LATENCY, registry=r,
        )  # fmt: skip
        self.dropped = Counter(
            "forge_serve_dropped", "Queued requests dropped before computing (client gone or deadline passed).",
            ("model", "version", "reason"), registry=r,
        )  # fmt: skip
        self.rejected = Counter(
            "forge_serve_rejected", "Requests refused before reaching a model, by reason.", ("reason",), registry=r
        )
        self.memory = Gauge(
            "forge_serve_resident_memory_bytes", "Resident memory of each worker process.",
            multiprocess_mode="liveall", registry=r,
        )  # fmt: skip
        self.gpu_memory = Gauge(
            "forge_serve_gpu_memory_bytes", "GPU memory allocated by torch in each worker.", ("device",),
            multiprocess_mode="liveall", registry=r,
        )  # fmt: skip
        self.gpu_util = Gauge(
            "forge_serve_gpu_utilization_ratio", "GPU utilization (0-1), when the driver reports it.", ("device",),
            multiprocess_mode="livemax", registry=r,
        )  # fmt: skip
        self.ready = Gauge(
            "forge_serve_ready_workers", "Worker processes ready to serve.", multiprocess_mode="livesum", registry=r
        )
        self.canary_share = Gauge(
            "forge_serve_canary_share", "Share of traffic routed to the canary version.", ("model", "version"),
            multiprocess_mode="mostrecent", registry=r,
        )  # fmt: skip
        self.canary_events = Counter(
            "forge_serve_canary_events", "Canary promotions and rollbacks.", ("model", "version", "event"), registry=r
        )
        self.drift_psi = Gauge(
            "forge_serve_drift_psi", "Population stability index of an input feature vs the training reference.",
            ("model", "feature"), multiprocess_mode="mostrecent", registry=r,
        )  # fmt: skip
        self.drift_ks = Gauge(
            "forge_serve_drift_ks", "Kolmogorov-Smirnov statistic of an input feature vs the training reference.",
            ("model", "feature"), multiprocess_mode="mostrecent", registry=r,
        )  # fmt: skip
        self._last_sample = 0.0

    def sample_process(self, *, force: bool = False) -> None:
        """Update memory (and GPU) gauges, at most once a second unless ``force``."""
        now = time.monotonic()
        if not force and now - self._last_sample < 1.0:
            return
        self._last_sample = now
        self.memory.set(_resident_bytes())
        import sys

        torch: Any = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            for index in range(torch.cuda.device_count()):
                device = f"cuda:{index}"
                self.gpu_memory.labels(device).set(torch.cuda.memory_allocated(index))
                try:
                    self.gpu_util.labels(device).set(torch.cuda.utilization(index) / 100.0)
                except Exception:  # needs pynvml or amdsmi; memory is still reported
                    pass

    def render(self) -> bytes:
        """The exposition text of every process's metrics."""
        self.sample_process(force=True)
        path = multiprocess_dir()
        if path is None:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=path)  # type: ignore[no-untyped-call]  # unannotated upstream
        return generate_latest(merged)


class ModelObserver:
    """A :class:`~forge.serve.batching.BatchObserver` writing one model version's batch metrics."""

    def __init__(self, metrics: ServeMetrics, model: str, version: str) -> None:
        self._m = metrics
        self._labels = (model, version)

    def batch_done(self, size: int, requests: int, seconds: float) -> None:
        """Record one forward pass."""
        self._m.batch_size.labels(*self._labels).observe(size)
        self._m.batch_seconds.labels(*self._labels).observe(seconds)
        self._m.sample_process()

    def queue_depth(self, depth: int) -> None:
        """Record the queue depth."""
        self._m.queue_depth.labels(*self._labels).set(depth)

    def dropped(self, reason: str) -> None:
        """Count a request dropped before computing."""
        self._m.dropped.labels(*self._labels, reason).inc()
