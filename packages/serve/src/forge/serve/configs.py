"""Config classes of the inference server (no torch, no fastapi import).

``ServeConfig`` is what ``forge serve`` builds from its options, and what a config file given with
``--config serve.toml`` holds (structured strictly by :func:`forge.core.config.structure`, so a
misspelt key is refused with its key path)::

    host = "0.0.0.0"
    port = 8000
    workers = 2

    [batching]
    max_batch_size = 16
    max_wait_ms = 5.0

    [[api_keys]]
    name = "ci"
    roles = ["predict"]
    env = "FORGE_CI_KEY"
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import attrs

from forge.core.config import field

__all__ = [
    "ROLES",
    "ApiKeyConfig",
    "BatchingConfig",
    "CanaryConfig",
    "LimitsConfig",
    "ServeConfig",
    "TlsConfig",
]

ROLES = ("predict", "admin")
"""Roles an API key may hold: ``predict`` calls models, ``admin`` manages them (and may predict)."""

Role = Literal["predict", "admin"]


def _key_source(instance: ApiKeyConfig, attribute: attrs.Attribute[Any], value: Any) -> None:
    if (instance.env is None) == (instance.file is None):
        raise ValueError(
            f"env, file: api key {instance.name!r} needs exactly one of 'env' (a variable) or 'file' (a secret "
            f"file), got env={instance.env!r} and file={None if value is None else str(value)!r}"
        )


@attrs.frozen
class ApiKeyConfig:
    """One API key: its name (what logs and metrics show), its roles and where its secret is read from.

    The secret itself never appears in a config file: it is read from an environment variable or a
    secret file (the way Docker and Kubernetes mount secrets), and it is never logged.
    """

    name: str = field(
        help="Name of the key's holder, shown in access logs and metrics instead of the key.", non_empty=True
    )
    roles: tuple[Role, ...] = field(
        ("predict",), help="Roles: 'predict' calls models, 'admin' manages them.", one_of=ROLES, non_empty=True
    )
    env: str | None = field(None, help="Environment variable holding the key.", non_empty=True)
    file: Path | None = field(
        None, help="File holding the key (surrounding whitespace is stripped).", validator=_key_source
    )
    rate_per_s: float | None = field(None, help="Sustained requests per second for this key; None: no limit.", gt=0)
    burst: int = field(20, help="Requests a key may send at once above its rate.", ge=1)
    quota: int | None = field(None, help="Most requests in one quota window for this key; None: no quota.", ge=1)
    quota_window_s: float = field(3600.0, help="Length of the quota window in seconds.", gt=0)


@attrs.frozen
class BatchingConfig:
    """Dynamic batching: requests wait in a bounded queue and run together."""

    max_batch_size: int = field(16, help="Most samples run through the model at once.", ge=1)
    max_wait_ms: float = field(5.0, help="Longest a request waits for others to fill a batch.", ge=0)
    queue_size: int = field(256, help="Requests admitted per model and worker; beyond it new ones get 429.", ge=1)
    threads: int = field(1, help="torch intra-op threads per worker process.", ge=1)


@attrs.frozen
class LimitsConfig:
    """Limits that keep one request or one client from exhausting the server."""

    request_timeout_s: float = field(30.0, help="Whole-request deadline (queue wait + execution); 504 past it.", gt=0)
    max_body_bytes: int = field(16 * 2**20, help="Largest request body; bigger ones get 413.", ge=1)
    max_elements: int = field(4_000_000, help="Most tensor elements one request may carry.", ge=1)
    max_tokens: int = field(4096, help="Most tokens a generative request may ask for (prompt + new tokens).", ge=1)
    retry_after_s: int = field(1, help="Retry-After seconds sent with 429 and 503.", ge=0)
    drain_timeout_s: float = field(30.0, help="On SIGTERM, how long in-flight requests may take to finish.", gt=0)


@attrs.frozen
class CanaryConfig:
    """Canary release: a share of traffic goes to a new version, rolled back automatically when it does worse."""

    model: str = field(help="Name of the model the canary belongs to.", non_empty=True)
    version: str = field(help="The canary version.", non_empty=True)
    share: float = field(0.1, help="Fraction of requests sent to the canary.", ge=0, le=1)
    max_error_rate_delta: float = field(
        0.05, help="Roll back when the canary's error rate exceeds the stable one's by this much.", ge=0
    )
    max_p99_ratio: float = field(
        2.0, help="Roll back when the canary's p99 latency exceeds the stable one's times this.", gt=0
    )
    min_requests: int = field(20, help="Canary requests needed before a decision.", ge=1)
    window: int = field(200, help="Recent requests per version the decision looks at.", ge=10)

    def __attrs_post_init__(self) -> None:
        # The decision counts the outcomes kept in the window: a larger minimum would never be reached.
        if self.min_requests > self.window:
            raise ValueError(
                f"min_requests, window: expected min_requests <= window, got {self.min_requests} and {self.window}"
            )


@attrs.frozen
class TlsConfig:
    """TLS, passed through to uvicorn."""

    certfile: Path | None = field(None, help="PEM certificate chain; TLS is on when set.")
    keyfile: Path | None = field(None, help="PEM private key.")
    keyfile_password_env: str | None = field(
        None, help="Environment variable holding the key's password.", non_empty=True
    )
    ca_certs: Path | None = field(None, help="CA bundle for verifying client certificates.")
    require_client_cert: bool = field(False, help="Require a client certificate signed by ca_certs (mutual TLS).")


@attrs.frozen
class ServeConfig:
    """How ``forge serve`` runs: sockets, processes, batching, limits, keys, canary, TLS and monitoring."""

    models: tuple[str, ...] = field(
        (),
        help="Run directories, exports, or folders of versioned run directories (NAME/VERSION/) to serve.",
    )
    factories: tuple[str, ...] = field(
        (),
        help="'module:attr' callables returning a list of ServedModel (models built in code), called in each worker.",
    )
    host: str = field("127.0.0.1", help="Interface to listen on.", non_empty=True)
    port: int = field(8000, help="Port to listen on; 0 picks a free one.", ge=0, le=65535)
    workers: int = field(1, help="Server processes, each with its own copy of every model.", ge=1)
    device: str = field("cpu", help="torch device the models run on ('cpu', 'cuda', 'cuda:1').", non_empty=True)
    checkpoint: Literal["best", "last"] = field(
        "best", help="Which checkpoint of a run directory to serve.", one_of=("best", "last")
    )
    warmup: bool = field(True, help="Run each model once on its example input before reporting ready.")
    batching: BatchingConfig = field(factory=BatchingConfig, help="Dynamic batching.")
    limits: LimitsConfig = field(factory=LimitsConfig, help="Request limits.")
    api_keys: tuple[ApiKeyConfig, ...] = field((), help="API keys; with none, every request is allowed.")
    canary: CanaryConfig | None = field(None, help="A canary release to start with.")
    tls: TlsConfig = field(factory=TlsConfig, help="TLS settings.")
    drift_reference: Path | None = field(
        None, help="safetensors file of training features (see forge.serve.drift) to monitor input drift against."
    )
    log_format: Literal["json", "console"] = field(
        "json", help="Access and server log format.", one_of=("json", "console")
    )
    state_dir: Path | None = field(
        None, help="Folder shared by the worker processes (metrics, routing); default: a temporary one."
    )
