"""The HTTP server span (OpenTelemetry's ASGI instrumentation, the ``otel`` extra). Imported by
``create_app`` only when tracing is on.

It runs inside the edge layer, so the request id is known when the span starts: the span carries
it as ``sono.request_id``, and once routing has happened, the route *template* as ``http.route``
and in its name (``GET /api/v1/audio/{audio_id}``), never the raw path.
"""

from __future__ import annotations

from typing import Any

from litestar.types import ASGIApp, Receive, Scope, Send
from opentelemetry import trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

from sono.entrypoints.logs import current_request_id, redact_query

REQUEST_ID_ATTRIBUTE = "sono.request_id"


def traced(app: ASGIApp, tracer_provider: Any = None) -> ASGIApp:
    """``app`` in a server span per HTTP request (``tracer_provider``: the global one if None)."""
    return OpenTelemetryMiddleware(  # type: ignore[return-value]
        _Annotated(app),
        tracer_provider=tracer_provider,
        exclude_spans=["receive", "send"],
        default_span_details=_span_details,
    )


def _span_details(scope: Any) -> tuple[str, dict[str, Any]]:
    return str(scope.get("method", "HTTP")), {}


class _Annotated:
    """Names the current (server) span after the route template and tags it with the request id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        span = trace.get_current_span()
        span.set_attribute(REQUEST_ID_ATTRIBUTE, current_request_id())
        _redact_url(span, scope)
        named = False

        async def send_naming_the_span(message: Any) -> None:
            nonlocal named
            if not named and message["type"] == "http.response.start":  # routed by now; the span ends with the body
                named = True
                template = scope.get("path_template")
                if template:
                    span.set_attribute("http.route", template)
                    span.update_name(f"{scope.get('method', 'HTTP')} {template}")
            await send(message)

        await self.app(scope, receive, send_naming_the_span)


def _redact_url(span: Any, scope: Scope) -> None:
    """The instrumentation records the URL with its query: the same redaction as the logs."""
    query = scope.get("query_string", b"").decode("latin-1")
    if not query:
        return
    redacted = redact_query(query)
    attributes = getattr(span, "attributes", None) or {}
    url = attributes.get("http.url")
    if isinstance(url, str):
        span.set_attribute("http.url", f"{url.split('?', 1)[0]}?{redacted}")
    if "url.query" in attributes:
        span.set_attribute("url.query", redacted)
    if "http.target" in attributes:
        span.set_attribute("http.target", f"{scope['path']}?{redacted}")
