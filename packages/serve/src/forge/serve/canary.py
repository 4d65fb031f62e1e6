"""Canary routing: a share of a model's traffic goes to a new version, rolled back when it does worse.

:class:`Router` holds, for each model, its stable version and an optional canary with its share.
Every answered request is recorded against its version (:meth:`Router.record`); once the canary
has ``min_requests`` recent outcomes, it is rolled back automatically when its error rate exceeds
the stable version's by more than ``max_error_rate_delta`` or its p99 latency exceeds the stable
one's times ``max_p99_ratio``. Admins promote or roll back by hand through the admin API.

With several worker processes the routing table lives in a small JSON file in the server's state
folder: a change (by the admin API or an automatic rollback in any worker) is written there
atomically and every worker picks it up within ``sync_interval_s``.
"""

from __future__ import annotations

import collections
import json
import os
import random
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from forge.serve.errors import RequestError

__all__ = ["CanaryPolicy", "Route", "Router", "VersionStats", "version_key"]


@attrs.frozen
class CanaryPolicy:
    """When a canary is rolled back automatically."""

    max_error_rate_delta: float = 0.05
    max_p99_ratio: float = 2.0
    min_requests: int = 20
    window: int = 200


@attrs.frozen
class Route:
    """Where one model's requests go."""

    stable: str
    canary: str | None = None
    share: float = 0.0


class VersionStats:
    """The recent outcomes (error or not, latency) of one model version."""

    def __init__(self, window: int) -> None:
        self.outcomes: collections.deque[tuple[bool, float]] = collections.deque(maxlen=window)

    def add(self, ok: bool, seconds: float) -> None:
        """Record one answered request."""
        self.outcomes.append((ok, seconds))

    @property
    def count(self) -> int:
        """Outcomes held."""
        return len(self.outcomes)

    def error_rate(self) -> float:
        """Share of the recent requests that failed (0 when none)."""
        return sum(not ok for ok, _ in self.outcomes) / len(self.outcomes) if self.outcomes else 0.0

    def p99(self) -> float:
        """The 99th percentile latency of the recent requests, in seconds (0 when none)."""
        if not self.outcomes:
            return 0.0
        values = sorted(s for _, s in self.outcomes)
        return values[min(len(values) - 1, int(0.99 * len(values)))]


class Router:
    """Routes each request to a version of its model and watches canaries (see the module docs).

    Args:
        versions: The loaded versions of each model (``{"digits": ["1", "2"]}``).
        stable: The stable version of each model (default: the highest of its versions).
        policy: Automatic rollback thresholds.
        state_file: JSON file shared by the worker processes (None: this process only).
        sync_interval_s: How often a worker re-reads the shared file.
        seed: Seed of the traffic split (None: unseeded).
    """

    def __init__(
        self,
        versions: Mapping[str, Iterable[str]],
        *,
        stable: Mapping[str, str] | None = None,
        policy: CanaryPolicy | None = None,
        state_file: Path | None = None,
        sync_interval_s: float = 0.5,
        seed: int | None = None,
    ) -> None:
        self.versions = {name: sorted(vs, key=version_key) for name, vs in versions.items()}
        self.policy = policy or CanaryPolicy()
        self.routes: dict[str, Route] = {
            name: Route((stable or {}).get(name) or vs[-1]) for name, vs in self.versions.items()
        }
        self.stats: dict[tuple[str, str], VersionStats] = {}
        self.events: list[dict[str, Any]] = []
        self._state_file = state_file
        self._sync_interval = sync_interval_s
        self._synced_at = 0.0
        self._mtime = 0.0
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        if state_file is not None and state_file.exists():
            self._load()

    # -- routing ----------------------------------------------------------------------------------
    def route(self, model: str, version: str | None = None) -> str:
        """The version a request for ``model`` goes to (``version`` pins one).

        Raises:
            RequestError: 404 for an unknown model or version.
        """
        self._sync()
        if model not in self.routes:
            raise RequestError(f"unknown model {model!r}; serving: {', '.join(sorted(self.routes))}", 404)
        if version is not None:
            if version not in self.versions[model]:
                raise RequestError(
                    f"model {model!r} has no version {version!r}; loaded: {', '.join(self.versions[model])}", 404
                )
            return version
        r = self.routes[model]
        if r.canary is not None and self._random.random() < r.share:
            return r.canary
        return r.stable

    def record(self, model: str, version: str, ok: bool, seconds: float) -> str | None:
        """Record an answered request; returns ``"rollback"`` when it made the canary roll back."""
        key = (model, version)
        stats = self.stats.get(key)
        if stats is None:
            stats = self.stats[key] = VersionStats(self.policy.window)
        stats.add(ok, seconds)
        r = self.routes.get(model)
        if r is None or r.canary != version:
            return None
        reason = self._verdict(model, r)
        if reason is None:
            return None
        self.rollback(model, reason=reason)
        return "rollback"

    def _verdict(self, model: str, r: Route) -> str | None:
        canary = self.stats.get((model, r.canary or ""))
        if canary is None or canary.count < self.policy.min_requests:
            return None
        stable = self.stats.get((model, r.stable)) or VersionStats(1)
        err_c, err_s = canary.error_rate(), stable.error_rate()
        if err_c - err_s > self.policy.max_error_rate_delta:
            return f"canary error rate {err_c:.1%} vs stable {err_s:.1%}"
        if stable.count >= self.policy.min_requests:
            p99_c, p99_s = canary.p99(), stable.p99()
            if p99_s > 0 and p99_c > p99_s * self.policy.max_p99_ratio:
                return f"canary p99 {p99_c * 1e3:.1f} ms vs stable {p99_s * 1e3:.1f} ms"
        return None

    # -- management -------------------------------------------------------------------------------
    def set_canary(self, model: str, version: str, share: float) -> Route:
        """Send ``share`` of ``model``'s traffic to ``version``.

        Raises:
            RequestError: unknown model or version (404), the stable version named, or a share outside 0..1 (400).
        """
        self.route(model, version)
        if not 0.0 <= share <= 1.0:
            raise RequestError(f"canary share must be between 0 and 1, got {share}", 400)
        with self._lock:
            r = self.routes[model]
            if version == r.stable:
                raise RequestError(f"version {version!r} is already the stable version of {model!r}", 400)
            self.routes[model] = Route(r.stable, version, share)
            self.stats.pop((model, version), None)
            self._event(model, version, "canary", f"share {share}")
        return self.routes[model]

    def promote(self, model: str) -> Route:
        """Make the canary the stable version.

        Raises:
            RequestError: unknown model (404) or no canary to promote (409).
        """
        self.route(model)
        with self._lock:
            r = self.routes[model]
            if r.canary is None:
                raise RequestError(f"model {model!r} has no canary to promote", 409)
            self.routes[model] = Route(r.canary)
            self._event(model, r.canary, "promote", "by admin")
        return self.routes[model]

    def rollback(self, model: str, *, reason: str = "by admin") -> Route:
        """Stop sending traffic to the canary.

        Raises:
            RequestError: unknown model (404) or no canary to roll back (409).
        """
        self.route(model)
        with self._lock:
            r = self.routes[model]
            if r.canary is None:
                raise RequestError(f"model {model!r} has no canary to roll back", 409)
            self.routes[model] = Route(r.stable)
            self._event(model, r.canary, "rollback", reason)
        return self.routes[model]

    def describe(self, model: str) -> dict[str, Any]:
        """The route and recent stats of a model, as JSON."""
        self._sync()
        r = self.routes[model]
        stats = {
            v: {"requests": s.count, "error_rate": s.error_rate(), "p99_ms": s.p99() * 1e3}
            for (m, v), s in self.stats.items()
            if m == model
        }
        return {
            "stable": r.stable,
            "canary": r.canary,
            "share": r.share,
            "versions": self.versions[model],
            "recent": stats,
            "events": [e for e in self.events if e["model"] == model][-20:],
        }

    # -- sharing between processes ----------------------------------------------------------------
    def _event(self, model: str, version: str, event: str, reason: str) -> None:
        self.events.append({"model": model, "version": version, "event": event, "reason": reason, "time": time.time()})
        self._save()

    def _save(self) -> None:
        if self._state_file is None:
            return
        data = {
            "routes": {m: attrs.asdict(r) for m, r in self.routes.items()},
            "events": self.events[-200:],
        }
        fd, tmp = tempfile.mkstemp(dir=self._state_file.parent, prefix=".routes-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, self._state_file)
        self._mtime = self._state_file.stat().st_mtime

    def _sync(self) -> None:
        if self._state_file is None:
            return
        now = time.monotonic()
        if now - self._synced_at < self._sync_interval:
            return
        self._synced_at = now
        try:
            mtime = self._state_file.stat().st_mtime
        except FileNotFoundError:
            return
        if mtime != self._mtime:
            self._load()

    def _load(self) -> None:
        assert self._state_file is not None
        try:
            mtime = self._state_file.stat().st_mtime
            data = json.loads(self._state_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return  # a half-visible file cannot happen (atomic replace); a missing one means no change
        with self._lock:
            for model, raw in data.get("routes", {}).items():
                if model in self.routes:
                    new = Route(**raw)
                    if new.canary != self.routes[model].canary and new.canary is not None:
                        self.stats.pop((model, new.canary), None)
                    self.routes[model] = new
            self.events = list(data.get("events", []))
            self._mtime = mtime


def version_key(version: str) -> tuple[int, int, str]:
    """Sort key of versions: numbers in numeric order, then names."""
    return (0, int(version), "") if version.isdigit() else (1, 0, version)
