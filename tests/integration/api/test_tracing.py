"""OpenTelemetry tracing (the ``otel`` extra), on each backend: a request yields a server span named
after its route template, carrying the request id, with the SQL statements it ran as child spans;
read through the SDK's in-memory exporter. Off unless the ``OTEL_*`` variables ask for it, and
then no ``opentelemetry`` module is even imported."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sono.adapters.sqlalchemy.migrate import upgrade
from sono.bootstrap import build_container
from sono.config import load_settings, tracing_requested
from sono.entrypoints.http.app import create_app
from tests.integration.api.conftest import PASSWORD, http_client

sdk_trace = pytest.importorskip("opentelemetry.sdk.trace", reason="the otel extra is not installed")
in_memory = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")
export = pytest.importorskip("opentelemetry.sdk.trace.export")
trace_api = pytest.importorskip("opentelemetry.trace")


@pytest.fixture
async def traced_api(backend_env: dict[str, str]) -> AsyncIterator[tuple[Any, Any]]:
    exporter = in_memory.InMemorySpanExporter()
    provider = sdk_trace.TracerProvider()
    provider.add_span_processor(export.SimpleSpanProcessor(exporter))
    settings = load_settings(backend_env)
    await upgrade(settings.database_url)
    container = await build_container(settings, tracer_provider=provider)
    try:
        await container.ports.rate_limiter.reset()
        app = create_app(settings, container=container)
        async with http_client(app) as client:
            yield client, exporter
    finally:
        await container.aclose()
        provider.shutdown()


def _ancestors(span: Any, by_id: dict[int, Any]) -> list[Any]:
    found = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        found.append(span)
    return found


async def test_a_request_is_a_server_span_with_its_sql_spans_and_request_id(traced_api: tuple[Any, Any]) -> None:
    client, exporter = traced_api
    exporter.clear()

    response = await client.post(
        "/api/v1/users/",
        json={"username": "alice", "email": "alice@example.com", "password": PASSWORD},
        headers={"X-Request-ID": "traced-1"},
    )

    assert response.status_code == 201, response.text
    spans = exporter.get_finished_spans()
    by_id = {span.context.span_id: span for span in spans}
    [server] = [span for span in spans if span.kind == trace_api.SpanKind.SERVER]
    assert server.attributes["sono.request_id"] == "traced-1"
    assert server.attributes["http.route"] == "/api/v1/users"
    assert server.name == "POST /api/v1/users"
    sql = [span for span in spans if span.attributes.get("db.statement")]
    assert any(span.name == "INSERT" for span in sql)
    for span in sql:
        assert span.kind == trace_api.SpanKind.CLIENT
        assert server in _ancestors(span, by_id), span.name
        assert span.context.trace_id == server.context.trace_id
    assert "alice@example.com" not in json.dumps([dict(span.attributes) for span in spans])  # bound, not inlined


async def test_the_fast_reads_are_sql_spans_of_their_request(traced_api: tuple[Any, Any]) -> None:
    """Authenticating a request, a login's user and the public lists read outside units of work,
    on an engine of their own: its statements are client spans of the request too."""
    client, exporter = traced_api
    body = {"username": "alice", "email": "alice@example.com", "password": PASSWORD}
    assert (await client.post("/api/v1/users/", json=body)).status_code == 201
    exporter.clear()
    token = (await client.post("/api/v1/users/token", data={"username": "alice", "password": PASSWORD})).json()
    me = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    listed = await client.get("/api/v1/audio/public")
    collections = await client.get("/api/v1/collections/?public_only=true")

    assert (me.status_code, listed.status_code, collections.status_code) == (200, 200, 200)
    spans = exporter.get_finished_spans()
    by_id = {span.context.span_id: span for span in spans}
    servers = {span.name: span for span in spans if span.kind == trace_api.SpanKind.SERVER}
    expected = {
        "POST /api/v1/users/token": "lower(users.username)",  # the user to log in
        "GET /api/v1/users/me": "refresh_families",  # the caller's session
        "GET /api/v1/audio/public": "audio_files",
        "GET /api/v1/collections": "collections",
    }
    for route, table in expected.items():
        server = servers[route]
        selects = [
            span
            for span in spans
            if span.name == "SELECT" and server in _ancestors(span, by_id) and table in span.attributes["db.statement"]
        ]
        assert selects, route
        assert all(span.kind == trace_api.SpanKind.CLIENT for span in selects)
    assert "alice@example.com" not in json.dumps([dict(span.attributes) for span in spans])


async def test_each_request_is_its_own_trace(traced_api: tuple[Any, Any]) -> None:
    client, exporter = traced_api
    exporter.clear()

    await client.get("/health", headers={"X-Request-ID": "first"})
    await client.get("/no/such/path", headers={"X-Request-ID": "second"})

    servers = [span for span in exporter.get_finished_spans() if span.kind == trace_api.SpanKind.SERVER]
    assert [span.attributes["sono.request_id"] for span in servers] == ["first", "second"]
    assert servers[0].context.trace_id != servers[1].context.trace_id
    assert servers[1].name == "GET"  # no route matched: never the raw path


@pytest.mark.parametrize(
    ("env", "on"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_tracing_is_off_unless_the_otel_variables_ask(env: dict[str, str], on: bool) -> None:
    assert tracing_requested(env) is on
    assert load_settings(env).tracing_enabled is on


_WITHOUT_THE_EXTRA = """
import asyncio, importlib.abc, json, logging, sys

class NoOpenTelemetry(importlib.abc.MetaPathFinder):  # as if the otel extra were not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "opentelemetry":
            raise ImportError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, NoOpenTelemetry())
logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
import httpx
from sono.adapters.sqlalchemy.migrate import upgrade
from sono.bootstrap import build_container
from sono.config import load_settings
from sono.entrypoints.http.app import create_app

async def main():
    settings = load_settings()
    await upgrade(settings.database_url)
    container = await build_container(settings)
    app = create_app(settings, container=container)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://testserver.local") as client:
        status = (await client.get("/health/ready")).status_code
    await container.aclose()
    return status

status = asyncio.run(main())
# the core's port (sono.application.tracing) is plain Python; the adapters are what would load opentelemetry
adapters = sorted(m for m in sys.modules if m.startswith(("sono.adapters", "sono.entrypoints")) and "tracing" in m)
print(json.dumps({"status": status, "sono": adapters}))
"""


@pytest.mark.parametrize("otel_env", [{}, {"OTEL_TRACES_EXPORTER": "console"}], ids=["off", "asked-for"])
def test_without_the_extra_the_app_serves_untraced(tmp_path: Path, otel_env: dict[str, str]) -> None:
    env = {"PATH": "/usr/bin:/bin", "SONO_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": ":".join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_THE_EXTRA], env=env | otel_env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["status"] == 200
    if otel_env:
        assert "the otel extra is not installed" in done.stderr
        assert outcome["sono"] == ["sono.adapters.tracing"]  # tried, found nothing, serves untraced
    else:
        assert outcome["sono"] == []  # tracing off: its modules are not even imported
        assert "otel" not in done.stderr


async def test_the_span_holds_no_credential_of_the_url(traced_api: tuple[Any, Any]) -> None:
    client, exporter = traced_api
    exporter.clear()

    await client.get("/api/v1/media/audio/7/x.mp3?expires=1&signature=deadbeefcafe&Signature=FEEDFACE")

    [server] = [span for span in exporter.get_finished_spans() if span.kind == trace_api.SpanKind.SERVER]
    text = json.dumps(dict(server.attributes))
    assert "deadbeefcafe" not in text and "FEEDFACE" not in text
    assert server.name == "GET /api/v1/media/{key}"
