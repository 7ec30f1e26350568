"""Spans beyond the HTTP server and SQL (the ``otel`` extra), read through the SDK's in-memory
exporter on each backend: a message sent through the bus is a span of its own under the request's,
the storage's calls are client spans, and the worker that delivers an event a request recorded
continues that request's trace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from sono.adapters.sqlalchemy.migrate import upgrade
from sono.bootstrap import build_container
from sono.config import load_settings
from sono.entrypoints.http.app import create_app
from tests.fixtures.media import png_bytes
from tests.integration.api.audio_support import s3_env
from tests.integration.api.conftest import Api, http_client

sdk_trace = pytest.importorskip("opentelemetry.sdk.trace", reason="the otel extra is not installed")
in_memory = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")
export = pytest.importorskip("opentelemetry.sdk.trace.export")
trace_api = pytest.importorskip("opentelemetry.trace")

PICTURE = "/api/v1/users/me/upload-profile-picture"


@pytest.fixture
async def traced(backend_env: dict[str, str], request: pytest.FixtureRequest) -> AsyncIterator[tuple[Api, Any]]:
    """SQLite with local storage, or PostgreSQL and Redis with S3 (moto on loopback)."""
    exporter = in_memory.InMemorySpanExporter()
    provider = sdk_trace.TracerProvider()
    provider.add_span_processor(export.SimpleSpanProcessor(exporter))
    if "SONO_DATABASE_URL" in backend_env:
        backend_env = backend_env | s3_env(request.getfixturevalue("s3_endpoint"))
    settings = load_settings(backend_env)
    await upgrade(settings.database_url)
    container = await build_container(settings, tracer_provider=provider)
    try:
        await container.ports.rate_limiter.reset()
        app = create_app(settings, container=container)
        async with http_client(app) as client:
            yield Api(app, client, container, settings), exporter
    finally:
        await container.aclose()
        provider.shutdown()


def _ancestors(span: Any, by_id: dict[int, Any]) -> list[Any]:
    found = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        found.append(span)
    return found


def _server(spans: list[Any], request_id: str) -> Any:
    [server] = [
        span
        for span in spans
        if span.kind == trace_api.SpanKind.SERVER and span.attributes.get("sono.request_id") == request_id
    ]
    return server


async def test_a_bus_message_is_a_span_under_the_request_with_its_sql_beneath(traced: tuple[Api, Any]) -> None:
    api, exporter = traced
    admin = await api.account("root", admin=True)
    exporter.clear()

    response = await api.client.post(
        "/api/v1/admin/announcements",
        json={"title": "Hello", "content": "World", "is_published": True},
        headers=admin.headers | {"X-Request-ID": "seam-1"},
    )

    assert response.status_code in (200, 201), response.text
    spans = exporter.get_finished_spans()
    by_id = {span.context.span_id: span for span in spans}
    server = _server(spans, "seam-1")
    [message] = [span for span in spans if span.name == "announcements.CreateAnnouncement"]
    assert server in _ancestors(message, by_id)
    assert message.attributes["sono.via"] == "token"
    assert message.attributes["sono.writes"] is True
    inserts = [span for span in spans if span.name == "INSERT" and "announcements" in span.attributes["db.statement"]]
    assert inserts and all(message in _ancestors(span, by_id) for span in inserts)


async def test_the_worker_delivering_an_event_continues_the_request_trace(traced: tuple[Api, Any]) -> None:
    api, exporter = traced
    alice = await api.account("alice")
    first = await api.client.post(PICTURE, headers=alice.headers, files={"file": ("a.png", png_bytes(), "image/png")})
    assert first.status_code == 200, first.text
    exporter.clear()

    # Replacing the picture releases the first one: an event stored with the request's trace.
    second = await api.client.post(
        PICTURE,
        headers=alice.headers | {"X-Request-ID": "replace-1"},
        files={"file": ("b.png", png_bytes((32, 32)), "image/png")},
    )
    assert second.status_code == 200, second.text
    server = _server(exporter.get_finished_spans(), "replace-1")
    exporter.clear()

    assert await api.deliver() >= 1

    spans = exporter.get_finished_spans()
    by_id = {span.context.span_id: span for span in spans}
    deliveries = [span for span in spans if span.name.startswith("deliver ")]
    assert deliveries, [span.name for span in spans]
    for delivery in deliveries:
        assert delivery.kind == trace_api.SpanKind.CONSUMER
        assert delivery.context.trace_id == server.context.trace_id  # one trace, request to worker
        assert delivery.attributes["sono.event"] == "ObjectsReleased"
    storage = "s3" if api.settings.storage == "s3" else "local"
    deletes = [span for span in spans if span.name.startswith(f"{storage} delete")]
    assert deletes, [span.name for span in spans]
    for span in deletes:
        assert span.kind == trace_api.SpanKind.CLIENT
        assert any(delivery in _ancestors(span, by_id) for delivery in deliveries)


async def test_mail_is_a_client_span_of_the_request(traced: tuple[Api, Any]) -> None:
    api, exporter = traced
    await api.account("bob")
    exporter.clear()

    response = await api.client.post(
        "/api/v1/users/forgot-password", json={"email": "bob@example.com"}, headers={"X-Request-ID": "mail-1"}
    )

    assert response.status_code == 200, response.text
    spans = exporter.get_finished_spans()
    by_id = {span.context.span_id: span for span in spans}
    server = _server(spans, "mail-1")
    [send] = [span for span in spans if span.name == "mail send"]
    assert send.kind == trace_api.SpanKind.CLIENT
    assert server in _ancestors(send, by_id)
