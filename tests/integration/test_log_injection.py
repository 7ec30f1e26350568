"""What a request puts into the logs cannot forge or disguise log lines: control and other
non-printable characters of the path, query, method and client are escaped."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from sono.adapters.sqlalchemy.migrate import upgrade
from sono.bootstrap import build_container
from sono.config import load_settings
from sono.entrypoints.http.app import create_app
from sono.entrypoints.http.logtext import printable
from sono.entrypoints.http.middleware import EdgeMiddleware, loggable_path

FORBIDDEN = ("\n", "\r", "\x1b", "\x00", "\u2028", "\u202e")


def _lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == logger]


def _assert_clean(line: str) -> None:
    assert not any(ch in line for ch in FORBIDDEN), repr(line)
    assert line.isprintable(), repr(line)


@pytest.mark.parametrize(
    ("raw", "logged"),
    [
        ("plain/path-é", "plain/path-é"),
        ("a\nb", "a\\x0ab"),
        ("a\r\nb", "a\\x0d\\x0ab"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ('say "hi" \\ bye', "say \\x22hi\\x22 \\x5c bye"),
        ("nul\x00 del\x7f", "nul\\x00 del\\x7f"),
        ("line\u2028sep \u202eevil", "line\\u2028sep \\u202eevil"),
    ],
)
def test_printable(raw: str, logged: str) -> None:
    assert printable(raw) == logged


def _scope(path: str, query: bytes = b"", method: str = "GET", client: Any = ("203.0.113.9", 50000)) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "query_string": query,
        "headers": [],
        "client": client,
    }


async def _plain_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 404, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _call(scope: dict[str, Any]) -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        pass

    await EdgeMiddleware(_plain_app)(scope, receive, send)  # type: ignore[arg-type]


async def test_access_line_escapes_path_query_method_and_client(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sono.access")
    forged = '\n2026-01-01 00:00:00 INFO sono.access: 10.0.0.1 "GET /admin" 200'
    await _call(_scope(f"/api/v1/x{forged}\r\x1b[2J", b"q=%0a%0d&raw=\x1b[31m\n\rforged&password=\nhunter2"))
    await _call(_scope("/ok", method="GE\nT", client=("10.0.0.1\nINFO forged", 1)))

    lines = _lines(caplog, "sono.access")
    assert len(lines) == 2
    for line in lines:
        _assert_clean(line)
    first, second = lines
    assert "/api/v1/x\\x0a2026-01-01 00:00:00 INFO sono.access: 10.0.0.1 \\x22GET /admin\\x22 200\\x0d\\x1b[2J" in first
    assert "?q=%0a%0d&raw=\\x1b[31m\\x0a\\x0dforged&password=***" in first
    assert "hunter2" not in first
    assert '"GE\\x0aT /ok"' in second
    assert second.startswith("10.0.0.1\\x0aINFO forged ")


def test_loggable_path_escapes_and_redacts() -> None:
    assert loggable_path(_scope("/a\nb")) == "/a\\x0ab"
    assert loggable_path(_scope("/a", b"token=x\ny&b=\x1b")) == "/a?token=***&b=\\x1b"


async def test_through_the_app(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Percent-encoded line breaks and escapes in a real request's path, on a 404 (the access
    line) and on a 500 (the error line too)."""
    settings = load_settings({"SONO_DATA_DIR": str(tmp_path / "data"), "SONO_JOBS_ENABLED": "false"})
    await upgrade(settings.database_url)
    container = await build_container(settings)
    caplog.set_level(logging.INFO)
    try:
        app = create_app(settings, container=container)
        transport = httpx.ASGITransport(app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            missing = await client.get("/nothing%0aINFO%20forged%0d%1b[31m?q=%0a&x=%0d%1b")
            assert missing.status_code == 404

            async def broken(*args: object) -> None:
                raise RuntimeError("boom")

            container.ports.storage.head = broken  # type: ignore[method-assign]
            failed = await client.get("/api/v1/media/avatars/x%0aERROR%20forged%1b")
            assert failed.status_code == 500
    finally:
        await container.aclose()

    access = _lines(caplog, "sono.access")
    errors = _lines(caplog, "sono.entrypoints.http.errors")
    assert len(access) == 2
    assert len(errors) == 1
    for line in access + errors:
        _assert_clean(line)
    assert "/nothing\\x0aINFO forged\\x0d\\x1b[31m?q=%0a&x=%0d%1b" in access[0]
    assert errors[0] == "GET /api/v1/media/avatars/x\\x0aERROR forged\\x1b failed"
