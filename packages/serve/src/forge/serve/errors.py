"""The errors a request can meet, each carrying the HTTP status it is answered with."""

from __future__ import annotations

from forge.core.errors import ForgeError

__all__ = ["Overloaded", "RequestError", "RequestTimeout", "Unavailable"]


class RequestError(ForgeError):
    """A request the server refuses; the message says what was wrong and where (a header, a field, an input).

    Args:
        message: What was wrong, in words a client can act on.
        status: The HTTP status code of the answer (4xx for the client's fault, 5xx for the server's).
        headers: Extra response headers (``Retry-After``, ``WWW-Authenticate``).
    """

    def __init__(self, message: str, status: int = 400, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.headers = dict(headers or {})


class Overloaded(RequestError):
    """The admission queue is full (429, with ``Retry-After``)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message, 429, {"Retry-After": str(retry_after_s)})


class Unavailable(RequestError):
    """The server is not ready or is shutting down (503, with ``Retry-After``)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message, 503, {"Retry-After": str(retry_after_s)})


class RequestTimeout(RequestError):
    """The whole-request deadline (queue wait + execution) passed (504)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 504)
