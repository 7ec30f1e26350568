"""One logging setup for every entrypoint, as real processes: ``sono serve`` (uvicorn's lines and
the app's) and the CLI's commands and job runs write one JSON object per line with
``SONO_LOG_FORMAT=json``, the same context on every line of one request or command; the text
format stays ``time LEVEL logger: message``."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.test_serve import Server, base_env, start_server

pytestmark = pytest.mark.slow


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Servers registered here are killed after the test if still running."""
    started: list[Server] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


TEXT_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")


def _json_lines(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The JSON objects of ``text`` and its other (non-empty) lines."""
    entries, others = [], []
    for line in text.splitlines():
        if line.startswith("{"):
            entries.append(json.loads(line))
        elif line.strip():
            others.append(line)
    return entries, others


def _sono(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sono", *args],
        env=base_env(tmp_path / "data", **env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_job_run_logs_json_lines_with_one_context(tmp_path: Path) -> None:
    assert _sono(tmp_path, "db", "upgrade").returncode == 0

    done = _sono(tmp_path, "jobs", "run-due", SONO_LOG_FORMAT="json", SONO_LOG_LEVEL="debug")

    assert done.returncode == 0, done.stderr
    entries, others = _json_lines(done.stderr)
    assert others == []
    assert entries
    assert {entry["route"] for entry in entries} == {"jobs run-due"}
    [request_id] = {entry["request_id"] for entry in entries}
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    for entry in entries:
        assert {"time", "level", "logger", "message", "user_id", "method", "status", "duration_ms"} <= set(entry)


def test_the_text_format_stays_the_default(tmp_path: Path) -> None:
    assert _sono(tmp_path, "db", "upgrade").returncode == 0

    done = _sono(tmp_path, "jobs", "run-due", SONO_LOG_LEVEL="debug")

    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if TEXT_LINE.match(line)]
    assert lines  # debug lines of the run, in the usual shape
    assert not any(line.startswith("{") for line in done.stderr.splitlines())


def test_an_unknown_log_format_is_a_usage_error(tmp_path: Path) -> None:
    done = _sono(tmp_path, "db", "current", SONO_LOG_FORMAT="xml")

    assert done.returncode == 2
    assert done.stderr.startswith("error: SONO_LOG_FORMAT must be one of text, json")


def test_sono_serve_logs_json_lines(tmp_path: Path, servers: list[Server]) -> None:
    server = start_server(base_env(tmp_path / "data", SONO_LOG_FORMAT="json"), log_dir=tmp_path)
    servers.append(server)
    server.wait_healthy()
    with httpx.Client(timeout=10.0) as client:
        response = client.get(f"{server.url}/api/v1/users/me", headers={"X-Request-ID": "served-json-1"})
    assert response.status_code == 401
    server.stop()

    entries, others = _json_lines(server.output())
    assert [line for line in others if not line.startswith("Sono is serving at ")] == []
    assert any(entry["logger"].startswith("uvicorn") for entry in entries)  # uvicorn's own lines too
    [access] = [entry for entry in entries if entry["request_id"] == "served-json-1"]
    assert access["logger"] == "sono.access"
    assert (access["route"], access["method"], access["status"]) == ("/api/v1/users/me", "GET", 401)
    assert access["user_id"] is None


def test_a_real_client_hanging_up_mid_upload_is_a_quiet_499(tmp_path: Path, servers: list[Server]) -> None:
    """Through ``sono serve``: a socket closed halfway through an upload's body."""
    server = start_server(base_env(tmp_path / "data", SONO_LOG_FORMAT="json"), log_dir=tmp_path)
    servers.append(server)
    server.wait_healthy()
    with httpx.Client(base_url=server.url, timeout=10.0) as client:
        form = {"username": "alice", "email": "alice@example.com", "password": "Str0ng!Passw0rd"}
        assert client.post("/api/v1/users/", json=form).status_code == 201
        token = client.post("/api/v1/users/token", data={"username": "alice", "password": form["password"]})
        access_token = token.json()["access_token"]

    boundary = "sonoboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="song.mp3"\r\n'
        "Content-Type: audio/mpeg\r\n\r\n"
    ).encode()
    request = (
        f"POST /api/v1/audio/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {access_token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(head) + 4_000_000}\r\n"
        "X-Request-ID: hung-up-1\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(request + head + b"\xff\xfb" + b"\x00" * 200_000)
    with httpx.Client(timeout=10.0) as client:  # the server goes on serving; by now it has seen the hang-up
        for _ in range(500):
            assert client.get(f"{server.url}/health").status_code == 200
            if '"request_id": "hung-up-1"' in server.output() and '"sono.access"' in server.output():
                break
    server.stop()

    entries, _ = _json_lines(server.output())
    mine = [entry for entry in entries if entry["request_id"] == "hung-up-1"]
    [access] = [entry for entry in mine if entry["logger"] == "sono.access"]
    assert access["status"] == 499
    assert [entry["level"] for entry in mine if entry["logger"] != "sono.access"] == ["INFO"]
    assert not any(entry["level"] in ("WARNING", "ERROR", "CRITICAL") for entry in entries)
    assert not any("exc" in entry for entry in entries)
    assert access_token not in server.output()
