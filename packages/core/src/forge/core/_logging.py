"""Structured logging for forge, on structlog.

Libraries only ask for loggers (:func:`get_logger`); the application (the ``forge`` command, or a
user's script) calls :func:`configure` once. Output is readable console text for people or JSON
lines for machines, optionally teed as JSON lines into a file (a run directory's log). Before any
line is written, :func:`redact` replaces the values of keys that look like secrets (token,
password, secret, api_key, ...) and e-mail addresses anywhere in the event.

Every line carries a UTC timestamp. The standard library's ``logging`` (what third-party
libraries and plugins use) is bridged in: :func:`configure_logging` puts one handler on the root
logger that passes warnings and errors into forge's output, in forge's format, and drops the
rest, so a plugin that calls ``logging.basicConfig(level=logging.DEBUG)`` at import (a no-op once
the root logger has a handler) or lowers the root level cannot flood forge's output with other
libraries' debug lines.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["LogFormat", "configure_logging", "get_logger", "redact", "set_rank"]

LogFormat = Literal["console", "json"]
_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
# Matched against whole words of a key (``hf_token``, ``apiKey``, ``X-Api-Key``), so that
# ``tokenizer``, ``max_tokens`` or ``author`` - everyday names in an ML SDK - stay readable.
_SECRET_KEY = re.compile(
    r"(?:^|_)(pass(word|wd|phrase)?|pwd|secrets?|token|api_?key|auth|authorization|credentials?"
    r"|private_?key|cookies?|session_?id)(?:_|$)",
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
REDACTED = "***"


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return _EMAIL.sub("<EMAIL>", value)
    if isinstance(value, Mapping):
        return {k: REDACTED if _is_secret(k) else _redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value(v) for v in value)
    return value


def _is_secret(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    words = re.sub(r"[^a-z0-9]+", "_", _CAMEL.sub("_", key).lower())
    return bool(_SECRET_KEY.search(words))


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: hide secret-named keys (nested too) and e-mail addresses."""
    for key in list(event_dict):
        value = event_dict[key]
        event_dict[key] = REDACTED if _is_secret(key) and value is not None else _redact_value(value)
    return event_dict


class _Sink:
    """Writes each event once per destination, each in its own format."""

    def __init__(self, stream: IO[str] | None, fmt: LogFormat, json_file: IO[str] | None) -> None:
        # stream None: whatever sys.stderr is at each write, so a live progress bar that redirects
        # stderr prints log lines above itself instead of being written over.
        self._stream, self._fmt, self._file = stream, fmt, json_file
        import structlog

        colors = (stream if stream is not None else sys.stderr).isatty()
        self._console = structlog.dev.ConsoleRenderer(colors=colors)
        self._lock = threading.Lock()

    def msg(self, **event: Any) -> None:
        line = json.dumps(event, default=str, ensure_ascii=False)
        with self._lock:
            if self._file is not None:
                self._file.write(line + "\n")
                self._file.flush()
            stream = self._stream if self._stream is not None else sys.stderr
            if stream is not None:
                text = line if self._fmt == "json" else str(self._console(None, "", dict(event)))
                stream.write(text + "\n")
                stream.flush()

    debug = info = warning = warn = error = critical = exception = log = msg


_state: dict[str, Any] = {}


class _StdlibBridge(logging.Handler):
    """The root logger's handler: standard-library records at WARNING and above, in forge's output."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            method = record.levelname.lower() if record.levelno < logging.CRITICAL else "critical"
            log = _structlog().get_logger().bind(logger=record.name)
            if record.exc_info:
                getattr(log, method)(record.getMessage(), exc_info=record.exc_info)
            else:
                getattr(log, method)(record.getMessage())
        except Exception:  # a logging failure must never break the program that logs
            self.handleError(record)


def _bridge_stdlib_logging() -> None:
    """Install (once) the handler that brings the root logger's warnings into forge's output."""
    root = logging.getLogger()
    if not any(isinstance(h, _StdlibBridge) for h in root.handlers):
        root.addHandler(_StdlibBridge())


def configure_logging(
    *,
    fmt: LogFormat = "console",
    level: str = "info",
    stream: IO[str] | None = None,
    json_file: str | Path | None = None,
) -> None:
    """Set up forge's logging for this process (call once, from the application).

    Args:
        fmt: ``"console"`` for people, ``"json"`` for one JSON object a line.
        level: The lowest level written: debug, info, warning, error or critical.
        stream: Where lines go (default: ``sys.stderr`` as it is at each write, so stdout stays
            clean for data and a progress bar can redirect it).
        json_file: Also append every event as a JSON line to this file.

    Raises:
        ValueError: unknown ``fmt`` or ``level``.
    """
    if fmt not in ("console", "json"):
        raise ValueError(f"log format {fmt!r}: expected 'console' or 'json'")
    if level.lower() not in _LEVELS:
        raise ValueError(f"log level {level!r}: expected one of {', '.join(_LEVELS)}")
    old = _state.pop("file", None)
    if old is not None:
        old.close()
    file = open(json_file, "a", encoding="utf-8") if json_file is not None else None  # kept open for the process
    if file is not None:
        _state["file"] = file
    # structlog (about 0.1 s to import) is only loaded once something logs: `forge list` never does
    _state["pending"] = _state["last"] = (stream, fmt, file, _LEVELS[level.lower()])
    _bridge_stdlib_logging()
    if "structlog" in sys.modules:
        _structlog()


def set_rank(rank: int, world_size: int) -> None:
    """Say which rank of a multi-process run this process is (the Trainer and the runner call it).

    With more than one process every line carries ``rank``, and ranks other than 0 write only
    errors: rank 0 speaks for the run, and any rank's failure still reaches the user. Applies to
    the configuration :func:`configure_logging` set (and to any set later).

    Args:
        rank: This process's global rank.
        world_size: Processes in the run.
    """
    _state["rank"] = (rank, world_size)
    last = _state.get("last")
    if last is not None:
        _state["pending"] = last
        if "structlog" in sys.modules:
            _structlog()


def _add_rank(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event_dict.setdefault("rank", _state.get("rank", (0, 1))[0])
    return event_dict


def _structlog() -> ModuleType:
    """structlog, with any configuration :func:`configure` left pending applied first."""
    import structlog

    pending = _state.pop("pending", None)
    if pending is None:
        return structlog
    stream, fmt, file, level = pending
    sink = _Sink(stream, fmt, file)
    rank, world_size = _state.get("rank", (0, 1))
    if rank != 0:
        level = max(level, _LEVELS["error"])  # one voice: the other ranks only say what went wrong
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            _add_rank if world_size > 1 else lambda _, __, event: event,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=lambda *args: sink,
        cache_logger_on_first_use=False,
    )
    return structlog


def get_logger(name: str | None = None, **context: Any) -> Any:
    """A structlog logger bound to ``logger=name`` and any extra ``context``.

    The logger reads the configuration each time it logs, so a module may create it at import
    time, before the application calls :func:`configure`.

    Returns:
        A bound logger: ``log.info("event_name", key=value)``.
    """
    if name:
        context = {"logger": name, **context}
    return _LazyLogger(context)


class _LazyLogger:
    """A logger that assembles a structlog bound logger from the current configuration per call.

    structlog's own lazy proxy settles on a configuration at its first ``bind``; a module-level
    ``get_logger(__name__)`` bound before :func:`configure` would then bypass redaction and the
    chosen output for good. (``logger=`` cannot go through ``structlog.get_logger`` either: it
    clashes with ``wrap_logger``'s first parameter.)
    """

    __slots__ = ("_context",)

    def __init__(self, context: Mapping[str, Any]) -> None:
        self._context = dict(context)

    def bind(self, **values: Any) -> _LazyLogger:
        """A logger with ``values`` added to the context."""
        return _LazyLogger({**self._context, **values})

    def unbind(self, *keys: str) -> _LazyLogger:
        """A logger without ``keys`` in the context."""
        return _LazyLogger({k: v for k, v in self._context.items() if k not in keys})

    def new(self, **values: Any) -> _LazyLogger:
        """A logger whose context is ``values`` only."""
        return _LazyLogger(values)

    def __getattr__(self, method: str) -> Any:
        structlog = _structlog()
        if structlog.is_configured():
            return getattr(structlog.get_logger().bind(**self._context), method)
        # forge used as a library before configure(): structlog's defaults print to stdout, which
        # would corrupt the host program's output; forge's lines go to stderr
        logger = structlog.wrap_logger(structlog.PrintLogger(file=sys.stderr))
        return getattr(logger.bind(**self._context), method)


def __getattr__(name: str) -> Any:
    from forge.core._deprecated import moved_attribute

    return moved_attribute(__name__, name)
