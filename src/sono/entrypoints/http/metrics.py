"""HTTP metrics and the scrape endpoint, ``GET /metrics``.

``MetricsMiddleware`` wraps the application (inside the edge layer, so the scrape answer carries
the request id and the security headers): it counts every request under its route *template*
(``/api/v1/audio/{audio_id}``, never the raw path; ``<unmatched>`` when no route matched), method
and status, with its latency and body bytes each way, and the requests in flight.

``/metrics`` is served here, outside the routes, so it is not part of the API (nor of its OpenAPI
document). It exists only when ``SONO_METRICS_TOKEN`` is set, and answers only a request bearing
that token (401 otherwise, compared in constant time); without the token it is a 404 like any
unknown path, and nothing is counted.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, ReceiveMessage, Scope, Send

from sono.application.metrics import UNMATCHED_ROUTE, Metrics
from sono.entrypoints.http.errors import NOT_AUTHENTICATED

METRICS_PATH = "/metrics"
_SCRAPE_METHODS = frozenset({"GET", "HEAD"})


def route_of(scope: Scope | dict[str, Any]) -> str:
    """The route template of a routed request (a bounded label), else ``<unmatched>``."""
    template = scope.get("path_template")
    return template if isinstance(template, str) and template else UNMATCHED_ROUTE


def metrics_of(scope: Scope | dict[str, Any]) -> Metrics | None:
    app = scope.get("litestar_app")
    container = getattr(getattr(app, "state", None), "container", None)
    return container.ports.metrics if container is not None else None


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        metrics = metrics_of(scope)
        if metrics is None or not metrics.enabled:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        received = sent = 0
        status = 500
        scrape = scope["path"] == METRICS_PATH and method in _SCRAPE_METHODS

        async def counting_receive() -> ReceiveMessage:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        async def counting_send(message: Message) -> None:
            nonlocal sent, status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        metrics.http_started()
        try:
            if scrape:
                await self._scrape(scope, metrics, counting_send)
            else:
                await self.app(scope, counting_receive, counting_send)
        finally:
            route = METRICS_PATH if scrape else route_of(scope)
            metrics.http_finished(route, method, status, time.perf_counter() - started, received, sent)

    async def _scrape(self, scope: Scope, metrics: Metrics, send: Send) -> None:
        if not self._authorized(scope):
            body = msgspec.json.encode({"detail": NOT_AUTHENTICATED})
            headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
            await _answer(send, 401, headers, body, head=False)
            return
        body, content_type = metrics.exposition()
        headers = [(b"content-type", content_type.encode()), (b"cache-control", b"no-store")]
        await _answer(send, 200, headers, body, head=scope.get("method") == "HEAD")

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, credentials = value.partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(credentials.strip(), self._token)
        return False


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, *, head: bool) -> None:
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": [*headers, (b"content-length", str(len(body)).encode())],
    }
    await send(start)
    await send({"type": "http.response.body", "body": b"" if head else body, "more_body": False})
