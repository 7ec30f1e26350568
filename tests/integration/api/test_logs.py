"""What a request puts into the logs, on each backend: no credential of a signed media URL (or of
any other URL) in the access and error lines; a client that hangs up mid-upload is a quiet 499,
not an ERROR and a 500; and in JSON every line a request causes carries its request id, route
template, method and caller's id, never an email or a token."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from sono.entrypoints.logs import JsonFormatter
from tests.fixtures.media import mp3_bytes
from tests.integration.api.conftest import Api, local_url

PRIVATE_KEY = "audio/7/fedcba9876543210fedcba9876543210.mp3"
UPLOAD = "/api/v1/audio/upload"


@contextmanager
def json_lines() -> Iterator[list[dict[str, Any]]]:
    """Every log line written meanwhile (INFO and up, any logger), as ``SONO_LOG_FORMAT=json``
    writes it; the list fills when the block ends."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    found: list[dict[str, Any]] = []
    try:
        yield found
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    text = stream.getvalue()
    found.extend(json.loads(line) for line in text.splitlines())
    found.append({"_raw": text})


def _raw(lines: list[dict[str, Any]]) -> str:
    return str(lines[-1]["_raw"])


def _entries(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return lines[:-1]


# --------------------------------------------------------------------------- redaction


async def test_a_signed_media_url_leaves_no_signature_in_the_logs(
    api: Api, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    await api.container.ports.storage.put_bytes(PRIVATE_KEY, mp3_bytes(), "audio/mpeg")
    url = await api.container.media.url(PRIVATE_KEY)
    assert url is not None and "signature=" in url
    path = local_url(url)
    signature = path.rsplit("signature=", 1)[1].split("&")[0]
    assert len(signature) >= 16

    caplog.set_level(logging.INFO)
    with json_lines() as lines:
        served = await api.client.get(path)

        async def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("storage down")

        monkeypatch.setattr(api.container.ports.storage, "head", broken)
        failed = await api.client.get(path)

    assert served.status_code == 200
    assert failed.status_code == 500
    access = [r.getMessage() for r in caplog.records if r.name == "sono.access"]
    errors = [r.getMessage() for r in caplog.records if r.name == "sono.entrypoints.http.errors"]
    assert len(access) == 2 and len(errors) == 1
    assert all("signature=***" in line for line in access + errors)
    server_lines = [r for r in caplog.records if r.name.startswith("sono")]
    assert signature not in "".join(r.getMessage() + str(r.exc_text) for r in server_lines)
    # the formatters redact every line, the test client's own request line (httpx) among them
    assert any(entry["logger"] == "httpx" for entry in _entries(lines))
    assert signature not in _raw(lines)
    routes = {entry["route"] for entry in _entries(lines) if entry["logger"] == "sono.access"}
    assert routes == {"/api/v1/media/{key}"}  # the template, not the raw path


# --------------------------------------------------------------------------- clients that hang up


def _scope(path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "server": ("testserver.local", 80),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "state": {},
    }


async def test_a_client_hanging_up_mid_upload_is_a_quiet_499(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    """The ASGI server's ``receive()`` answers ``http.disconnect`` halfway through the body."""
    alice = await api.account("alice")
    boundary = "sonoboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="song.mp3"\r\n'
        "Content-Type: audio/mpeg\r\n\r\n"
    ).encode()
    chunks = [head, b"\xff\xfb" + b"\x00" * 65536]
    headers = alice.headers | {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + 10 * 65536),
        "X-Request-ID": "gone-1",
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if chunks:
            return {"type": "http.request", "body": chunks.pop(0), "more_body": True}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    caplog.set_level(logging.DEBUG)
    await api.app(_scope(UPLOAD, headers), receive, send)  # type: ignore[arg-type]

    [access] = [r for r in caplog.records if r.name == "sono.access"]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert " 499 " in access.getMessage()
    assert access.status == 499  # type: ignore[attr-defined]
    assert all(r.exc_info is None for r in caplog.records)
    assert "Traceback" not in caplog.text
    quiet = [r for r in caplog.records if r.name == "sono.entrypoints.http.errors"]
    assert [r.levelno for r in quiet] == [logging.INFO]
    assert "hung up" in quiet[0].getMessage()
    assert all(getattr(r, "request_id", None) == "gone-1" for r in caplog.records if r.name.startswith("sono"))
    listed = await api.client.get("/api/v1/audio/my-files", headers=alice.headers)
    assert listed.status_code == 200 and listed.json()["total"] == 0  # nothing half stored
    assert list(api.settings.upload_dir.iterdir()) == []  # nor its spooled body


async def test_a_finished_request_is_not_a_hang_up(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    """A ``http.disconnect`` read after the answer went out (a server telling the app the
    connection closed) leaves the status as it was."""
    sent: list[dict[str, Any]] = []
    calls = 0

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    caplog.set_level(logging.INFO, logger="sono.access")
    scope = _scope("/health", {}) | {"method": "GET"}
    await api.app(scope, receive, send)  # type: ignore[arg-type]

    [access] = [r for r in caplog.records if r.name == "sono.access"]
    assert sent[0]["status"] == 200
    assert " 200 " in access.getMessage()


# --------------------------------------------------------------------------- JSON lines


async def test_every_json_line_of_a_request_carries_its_context(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    alice = await api.account("alice")
    me = await api.client.get("/api/v1/users/me", headers=alice.headers)
    assert me.status_code == 200
    alice_id = me.json()["id"]

    async def broken(key: object) -> str:
        raise RuntimeError("storage down")

    monkeypatch.setattr(api.container.media, "url", broken)
    with json_lines() as lines:
        failed = await api.client.get("/api/v1/users/me", headers=alice.headers | {"X-Request-ID": "req-json-1"})
        anonymous = await api.client.get("/api/v1/users/me")

    assert failed.status_code == 500 and anonymous.status_code == 401
    entries = _entries(lines)
    mine = [e for e in entries if e["request_id"] == "req-json-1"]
    assert {e["logger"] for e in mine} == {"sono.entrypoints.http.errors", "sono.access"}
    for entry in mine:
        assert entry["user_id"] == alice_id
        assert entry["route"] == "/api/v1/users/me"
        assert entry["method"] == "GET"
        assert {"time", "level", "logger", "message", "status", "duration_ms"} <= set(entry)
    [access] = [e for e in mine if e["logger"] == "sono.access"]
    assert access["status"] == 500 and access["duration_ms"] >= 0
    [error] = [e for e in mine if e["logger"] != "sono.access"]
    assert error["level"] == "ERROR" and "RuntimeError: storage down" in error["exc"]
    [other] = [e for e in entries if e["logger"] == "sono.access" and e["request_id"] != "req-json-1"]
    assert other["user_id"] is None and other["status"] == 401
    raw = _raw(lines)
    assert alice.email not in raw
    assert alice.access_token not in raw
    assert alice.access_token.split(".")[-1] not in raw
