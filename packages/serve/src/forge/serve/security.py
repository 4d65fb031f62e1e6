"""API keys with roles, per-key rate limits and quotas.

Keys are read once, at start-up, from environment variables or secret files named in
:class:`~forge.serve.configs.ApiKeyConfig`; the secret never appears in a log line, a metric or an
error message (only the key's ``name`` does). A presented key (``Authorization: Bearer KEY`` or
``X-API-Key: KEY``) is compared with every configured key by :func:`hmac.compare_digest`, so the
time an answer takes tells nothing about how much of a key was right.

Rate limits are token buckets and quotas fixed windows, both kept per worker process: with ``W``
workers each process enforces ``1/W`` of the configured rate and quota, so the totals hold while
the load balancer spreads a client's connections evenly.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Mapping, Sequence

import attrs

from forge.core.errors import ConfigError
from forge.serve.configs import ApiKeyConfig
from forge.serve.errors import RequestError

__all__ = ["Authenticator", "Principal", "read_secret"]


def read_secret(spec: ApiKeyConfig, environ: Mapping[str, str] | None = None) -> bytes:
    """Read one key's secret from its environment variable or file.

    Raises:
        ConfigError: the variable is unset or empty, or the file is missing or empty (naming the
            variable or file, never the secret).
    """
    env = os.environ if environ is None else environ
    if spec.env is not None:
        value = env.get(spec.env, "").strip()
        if not value:
            raise ConfigError(f"api_keys[{spec.name!r}]: environment variable {spec.env} is unset or empty")
    else:
        assert spec.file is not None  # the config's validator requires env or file
        try:
            value = spec.file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"api_keys[{spec.name!r}]: cannot read secret file {spec.file}: {exc.strerror}") from None
        if not value:
            raise ConfigError(f"api_keys[{spec.name!r}]: secret file {spec.file} is empty")
    if len(value) < 16:
        raise ConfigError(f"api_keys[{spec.name!r}]: the key must be at least 16 characters long")
    return value.encode("utf-8")


@attrs.frozen
class Principal:
    """Who made a request: the key's name and roles (``anonymous`` with every role when keys are off)."""

    name: str
    roles: frozenset[str]


class _Bucket:
    __slots__ = ("burst", "quota", "rate", "tokens", "updated", "used", "window", "window_start")

    def __init__(self, rate: float | None, burst: int, quota: int | None, window: float) -> None:
        self.rate, self.burst, self.quota, self.window = rate, burst, quota, window
        self.tokens = float(burst)
        self.updated = self.window_start = time.monotonic()
        self.used = 0

    def take(self) -> tuple[str, float] | None:
        """Spend one request; None when allowed, else (what ran out, seconds until it comes back)."""
        now = time.monotonic()
        if self.quota is not None:
            if now - self.window_start >= self.window:
                self.window_start, self.used = now, 0
            if self.used >= self.quota:
                return "quota", self.window - (now - self.window_start)
        if self.rate is not None:
            self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens < 1.0:
                return "rate limit", (1.0 - self.tokens) / self.rate
            self.tokens -= 1.0
        self.used += 1
        return None


class Authenticator:
    """Checks API keys and roles, and spends each key's rate limit and quota.

    Args:
        keys: The configured keys (none: every request is let through as ``anonymous``).
        workers: Worker processes sharing the limits (each enforces its share).
        environ: Where ``env`` keys are read from (default ``os.environ``).

    Raises:
        ConfigError: a key's secret cannot be read, or two keys share a name or a secret.
    """

    def __init__(
        self, keys: Sequence[ApiKeyConfig], *, workers: int = 1, environ: Mapping[str, str] | None = None
    ) -> None:
        self._keys: list[tuple[bytes, Principal]] = []
        self._buckets: dict[str, _Bucket] = {}
        names: set[str] = set()
        for spec in keys:
            if spec.name in names:
                raise ConfigError(f"api_keys: the name {spec.name!r} is used twice")
            names.add(spec.name)
            secret = read_secret(spec, environ)
            if any(hmac.compare_digest(secret, other) for other, _ in self._keys):
                raise ConfigError(f"api_keys[{spec.name!r}]: the same secret as another key")
            self._keys.append((secret, Principal(spec.name, frozenset(spec.roles))))
            self._buckets[spec.name] = _Bucket(
                spec.rate_per_s / workers if spec.rate_per_s is not None else None,
                max(1, spec.burst // workers),
                max(1, spec.quota // workers) if spec.quota is not None else None,
                spec.quota_window_s,
            )

    @property
    def enabled(self) -> bool:
        """Whether requests need a key."""
        return bool(self._keys)

    def authenticate(self, authorization: str | None, api_key: str | None, role: str) -> Principal:
        """Find the key a request presents and check it may act in ``role``; spend its limits.

        Args:
            authorization: The ``Authorization`` header (``Bearer KEY``).
            api_key: The ``X-API-Key`` header.
            role: ``"predict"`` or ``"admin"`` (admin keys may also predict).

        Raises:
            RequestError: 401 for a missing or unknown key, 403 for a key without the role,
                429 (with ``Retry-After``) when the key's rate limit or quota is spent.
        """
        if not self._keys:
            return Principal("anonymous", frozenset({"predict", "admin"}))
        presented = api_key
        if presented is None and authorization is not None:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() == "bearer" and value.strip():
                presented = value.strip()
        if not presented:
            raise RequestError(
                "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
                401,
                {"WWW-Authenticate": "Bearer"},
            )
        candidate = presented.encode("utf-8")
        found: Principal | None = None
        for secret, principal in self._keys:  # every key compared, whichever matches
            if hmac.compare_digest(candidate, secret):
                found = principal
        if found is None:
            raise RequestError("invalid API key", 401, {"WWW-Authenticate": "Bearer"})
        if role not in found.roles and not (role == "predict" and "admin" in found.roles):
            raise RequestError(f"API key {found.name!r} lacks the {role!r} role", 403)
        spent = self._buckets[found.name].take()
        if spent is not None:
            what, wait = spent
            raise RequestError(
                f"API key {found.name!r}: {what} reached; retry in {wait:.1f} s",
                429,
                {"Retry-After": str(max(1, int(wait + 0.999)))},
            )
        return found
