"""Streaming responses for generative models, as Server-Sent Events.

A served model streams when it has a ``stream`` method (see :class:`StreamingModel`): called with
the request's JSON object it returns an iterator of events, each a JSON-able mapping (a token, a
progress step, an image preview...). The server runs the iterator on a thread, sends each event as
``data: {...}`` followed by a blank line as soon as it comes, ends with ``event: end``, and closes
the iterator (``generator.close()``) the moment the client disconnects, so no more is computed.
An exception inside the iterator becomes an ``event: error`` with its message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

__all__ = ["StreamingModel", "format_event"]


@runtime_checkable
class StreamingModel(Protocol):
    """A model that can stream: ``stream(request) -> Iterator[event]``.

    ``request`` is the parsed JSON body (e.g. ``{"prompt": [1, 2, 3], "max_new_tokens": 16}``),
    already checked against the server's token limit when it has ``prompt`` and
    ``max_new_tokens``; each event is a JSON-able mapping.
    """

    def stream(self, request: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
        """Yield the events of one request."""
        ...


def format_event(data: Mapping[str, Any] | str, event: str | None = None) -> bytes:
    """One Server-Sent Event: an optional ``event:`` line and a JSON ``data:`` line, then a blank line."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), default=str)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()
