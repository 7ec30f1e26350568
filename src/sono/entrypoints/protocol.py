"""uvicorn's HTTP/1.1 protocol with a header-read timeout (uvicorn has none): a client must send a
request's whole head (request line and headers) within ``SONO_HEADER_TIMEOUT_SECONDS`` of
connecting, or of the end of the previous response on a kept-alive connection, else the
connection is closed. Without it, a client sending one header line a second holds a connection
(and its memory) forever. Bodies are not concerned: the limit stops once the head is complete.

A request the HTTP parser refuses (malformed, or a request line or head beyond its limits, such as
a URL of more than about 64 KB) is answered in the API's error shape, ``{"detail": ...}`` as JSON,
instead of uvicorn's plain text, and the connection is closed.

``sono serve`` passes ``PROTOCOL`` (an import string, so worker processes import it) to uvicorn;
workers read the timeout from the environment they inherit, as they read every setting.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import msgspec
from uvicorn.protocols.http.h11_impl import H11Protocol

TIMEOUT_VARIABLE = "SONO_HEADER_TIMEOUT_SECONDS"
DEFAULT_TIMEOUT = 10.0
INVALID_REQUEST = "Invalid HTTP request"


def _timeout_from_env() -> float:
    try:
        value = float(os.environ.get(TIMEOUT_VARIABLE, "") or DEFAULT_TIMEOUT)
    except ValueError:
        return DEFAULT_TIMEOUT  # the settings reject it at start-up already
    return value if value > 0 else DEFAULT_TIMEOUT


class HeaderDeadline:
    """Mixin for uvicorn's HTTP protocols. It relies on what both of them do: ``self.cycle``
    becomes a new request cycle once a request's head has been read, and ``on_response_complete``
    runs when a response has been sent."""

    header_timeout: float | None = None  # None: from the environment, read once per process

    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    cycle: Any
    server_state: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cls = type(self)
        if cls.header_timeout is None:
            cls.header_timeout = _timeout_from_env()
        self._header_deadline: asyncio.TimerHandle | None = None
        self._awaited_cycle: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._await_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        if self._header_deadline is not None and (
            self.cycle is not self._awaited_cycle or self.transport.get_protocol() is not self  # head read / upgraded
        ):
            self._stop_waiting()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._await_head()  # (a pipelined request whose head was read already has started)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)  # type: ignore[misc]

    def _await_head(self) -> None:
        self._stop_waiting()
        self._awaited_cycle = self.cycle
        timeout = self.header_timeout or DEFAULT_TIMEOUT
        self._header_deadline = self.loop.call_later(timeout, self._head_too_slow)

    def _stop_waiting(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def send_400_response(self, msg: str) -> None:
        """What uvicorn sends when its parser refuses a request, as JSON (both parsers call it and
        close the connection; ``msg`` is the parser's, not the client's business)."""
        body = msgspec.json.encode({"detail": INVALID_REQUEST})
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        head.extend(name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers)
        head.append(b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(body))
        self.transport.write(b"".join(head) + body)
        self.transport.close()

    def _head_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()


class HeaderTimeoutH11Protocol(HeaderDeadline, H11Protocol):
    pass


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # uvicorn without httptools: the pure-Python parser
    PROTOCOL = f"{__name__}:HeaderTimeoutH11Protocol"
else:

    class HeaderTimeoutHttpToolsProtocol(HeaderDeadline, HttpToolsProtocol):
        pass

    PROTOCOL = f"{__name__}:HeaderTimeoutHttpToolsProtocol"
