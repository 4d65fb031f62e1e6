"""Structured logging for forge, on structlog.

Libraries only ask for loggers (:func:`get_logger`); the application (the ``forge`` command, or a
user's script) calls :func:`configure` once. Output is readable console text for people or JSON
lines for machines, optionally teed as JSON lines into a file (a run directory's log). Before any
line is written, :func:`redact` replaces the values of keys that look like secrets (token,
password, secret, api_key, ...) and e-mail addresses anywhere in the event.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import IO, Any, Literal

import structlog

__all__ = ["LogFormat", "configure", "get_logger", "redact"]

LogFormat = Literal["console", "json"]
_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
_SECRET_KEY = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|api[-_]?key|apikey|auth(orization)?|credential|private[-_]?key|cookie)",
    re.IGNORECASE,
)
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
    return isinstance(key, str) and bool(_SECRET_KEY.search(key))


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: hide secret-named keys (nested too) and e-mail addresses."""
    for key in list(event_dict):
        value = event_dict[key]
        event_dict[key] = REDACTED if _is_secret(key) and value is not None else _redact_value(value)
    return event_dict


class _Sink:
    """Writes each event once per destination, each in its own format."""

    def __init__(self, stream: IO[str], fmt: LogFormat, json_file: IO[str] | None) -> None:
        self._stream, self._fmt, self._file = stream, fmt, json_file
        self._console = structlog.dev.ConsoleRenderer(colors=stream.isatty())
        self._lock = threading.Lock()

    def msg(self, **event: Any) -> None:
        line = json.dumps(event, default=str, ensure_ascii=False)
        with self._lock:
            if self._file is not None:
                self._file.write(line + "\n")
                self._file.flush()
            if self._stream is not None:
                text = line if self._fmt == "json" else str(self._console(None, "", dict(event)))
                self._stream.write(text + "\n")
                self._stream.flush()

    debug = info = warning = warn = error = critical = exception = log = msg


_state: dict[str, Any] = {}


def configure(
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
        stream: Where lines go (default ``sys.stderr``, so stdout stays clean for data).
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
    sink = _Sink(stream if stream is not None else sys.stderr, fmt, file)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            lambda _, __, event: event,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level.lower()]),
        logger_factory=lambda *args: sink,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str | None = None, **context: Any) -> Any:
    """A structlog logger bound to ``logger=name`` and any extra ``context``.

    Returns:
        A bound logger: ``log.info("event_name", key=value)``.
    """
    log = structlog.get_logger()
    return log.bind(logger=name, **context) if name else log.bind(**context)
