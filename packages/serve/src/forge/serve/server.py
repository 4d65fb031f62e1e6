"""Running the server: sockets, worker processes, TLS and graceful shutdown.

:func:`serve` binds the listening socket once, then runs the app in this process (``workers=1``)
or in ``workers`` spawned processes sharing that socket (the kernel spreads connections between
them). Each worker loads its own copy of every model and runs them on its own model thread, so
several workers per device is the way to use several CPU cores or overlap GPU work.

On SIGTERM (or SIGINT) each worker turns ``/readyz`` to 503 and stops admitting requests at once,
stops listening, lets admitted requests finish for up to ``limits.drain_timeout_s``, then exits 0;
the supervisor forwards the signal to every worker, waits for them and exits 0 when they all did.
A worker that dies on its own is replaced.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import attrs
import uvicorn

from forge.core.config import structure, unstructure
from forge.core.errors import ConfigError
from forge.serve.configs import ServeConfig

__all__ = ["bind_socket", "serve"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind and listen on ``host:port`` (port 0 picks a free one).

    Raises:
        ConfigError: the address cannot be bound (in use, not permitted), naming it.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, draining the app on the first signal and exiting 0 afterwards."""

    def __init__(self, config: uvicorn.Config, on_signal: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_signal = on_signal

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Stop admitting work at once (readiness 503), then let uvicorn drain and stop."""
        self._on_signal()
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """Install the handlers; unlike uvicorn's, never re-raise the signal, so a drained server exits 0."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in _SIGNALS}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def _uvicorn_config(app: Any, config: ServeConfig) -> uvicorn.Config:
    tls = config.tls
    password = os.environ.get(tls.keyfile_password_env) if tls.keyfile_password_env else None
    if tls.certfile is not None and tls.keyfile is None:
        raise ConfigError("tls.keyfile: required with tls.certfile")
    if tls.require_client_cert and tls.ca_certs is None:
        raise ConfigError("tls.ca_certs: required with tls.require_client_cert")
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,  # forge writes its own structured access log
        lifespan="on",
        timeout_graceful_shutdown=int(config.limits.drain_timeout_s + 0.999),
        timeout_keep_alive=5,
        ssl_certfile=str(tls.certfile) if tls.certfile else None,
        ssl_keyfile=str(tls.keyfile) if tls.keyfile else None,
        ssl_keyfile_password=password,
        ssl_ca_certs=str(tls.ca_certs) if tls.ca_certs else None,
        ssl_cert_reqs=ssl.CERT_REQUIRED if tls.require_client_cert else ssl.CERT_NONE,
        server_header=False,
    )


def _import(target: str) -> Callable[[], Any]:
    module, _, attr = target.partition(":")
    if not module or not attr:
        raise ConfigError(f"factories: {target!r} is not 'module:attr'")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"factories: cannot import {target!r}: {exc}") from None
    if not callable(obj):
        raise ConfigError(f"factories: {target!r} is not callable")
    result: Callable[[], Any] = obj
    return result


def _run_worker(config: ServeConfig, sock: socket.socket, extra: Sequence[Any] = ()) -> None:
    from forge.core import configure_logging
    from forge.serve.app import create_app

    configure_logging(fmt=config.log_format)
    factories = [*extra, *(_import(t) for t in config.factories)]
    app = create_app(config, models=factories)
    server = _Server(_uvicorn_config(app, config), app.state.serve.begin_drain)
    server.run(sockets=[sock])


def _worker_entry(data: dict[str, Any], sock: socket.socket) -> None:
    config = structure(data, ServeConfig, where="serve")
    _run_worker(config, sock)
    sys.exit(0)


def serve(
    config: ServeConfig,
    *,
    models: Sequence[Any] = (),
    port_file: str | os.PathLike[str] | None = None,
) -> int:
    """Run the server until SIGTERM or SIGINT; returns the exit code (0 after a clean drain).

    Args:
        config: What to serve and how.
        models: Extra :class:`~forge.serve.models.ServedModel` objects or factories (one worker
            only: objects cannot cross into spawned workers; use ``config.factories`` there).
        port_file: Written with the bound port once listening (useful with ``port=0``).

    Raises:
        ConfigError: the socket cannot be bound, the TLS settings are incomplete, or ``models``
            is given with several workers.
        CheckpointError: a path in ``config.models`` holds nothing servable.
    """
    if models and config.workers > 1:
        raise ConfigError("models built in code need workers=1; name a factory in config.factories instead")
    from forge.serve.models import discover

    for path in config.models:
        discover(path)  # a wrong path fails here, before anything listens
    state_dir = Path(config.state_dir or tempfile.mkdtemp(prefix="forge-serve-"))
    state_dir.mkdir(parents=True, exist_ok=True)
    config = attrs.evolve(config, state_dir=state_dir)
    sock = bind_socket(config.host, config.port)
    port = sock.getsockname()[1]
    if port_file is not None:
        tmp = Path(f"{port_file}.tmp")
        tmp.write_text(str(port), encoding="utf-8")
        tmp.replace(port_file)
    sys.stderr.write(f"forge serve: listening on {config.host}:{port} with {config.workers} worker(s)\n")
    if config.workers == 1:
        _run_worker(config, sock, models)
        return 0
    metrics_dir = state_dir / "metrics"
    metrics_dir.mkdir(exist_ok=True)
    for stale in metrics_dir.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)  # inherited by the spawned workers
    return _supervise(config, sock)


def _supervise(config: ServeConfig, sock: socket.socket) -> int:
    ctx = multiprocessing.get_context("spawn")
    data = unstructure(config)
    stopping = threading.Event()

    def start() -> Any:
        proc = ctx.Process(target=_worker_entry, args=(data, sock), name="forge-serve-worker", daemon=False)
        proc.start()
        return proc

    def on_signal(sig: int, frame: FrameType | None) -> None:
        stopping.set()

    original = {sig: signal.signal(sig, on_signal) for sig in _SIGNALS}
    workers = [start() for _ in range(config.workers)]
    try:
        while not stopping.wait(0.5):
            for i, proc in enumerate(workers):
                if not proc.is_alive():
                    _mark_dead(proc.pid)
                    sys.stderr.write(f"forge serve: worker {proc.pid} exited with {proc.exitcode}; restarting\n")
                    workers[i] = start()
        for proc in workers:
            if proc.is_alive() and proc.pid is not None:
                os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + config.limits.drain_timeout_s + 10
        for proc in workers:
            proc.join(max(0.0, deadline - time.monotonic()))
        code = 0
        for proc in workers:
            if proc.is_alive():
                proc.kill()
                proc.join()
                code = 1
            elif proc.exitcode != 0:
                code = 1
            _mark_dead(proc.pid)
        return code
    finally:
        for sig, handler in original.items():
            signal.signal(sig, handler)
        sock.close()


def _mark_dead(pid: int | None) -> None:
    if pid is None:
        return
    from prometheus_client import multiprocess

    with contextlib.suppress(Exception):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]  # unannotated upstream
