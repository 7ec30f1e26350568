"""``sono serve`` as a real process: healthy on a fresh data directory, secrets private, one key
pair shared by all workers, a clean stop on SIGTERM, slow request heads cut off, a clear error on
a busy port. (How fast it starts is measured in ``bench/``, not asserted here.)

The helpers here are also used by ``test_multiprocess.py``.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from sono.entrypoints.serve import default_public_url

pytestmark = pytest.mark.slow

CLEAN_EXIT = (0, -signal.SIGTERM)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The test process's environment without any ``SONO_*`` setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SONO_", "KWORB_"))}
    env.update(SONO_DATA_DIR=str(data_dir), SONO_LOG_LEVEL="info", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    started_at: float

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_healthy(self, guard_seconds: float = 60.0) -> None:
        """Poll until ``GET /health`` answers 200. ``guard_seconds`` only turns a server that never
        comes up into a failure instead of a hang; how long it took is not a test's business."""
        deadline = self.started_at + guard_seconds
        with httpx.Client(timeout=5.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    pytest.fail(f"sono serve exited with {self.process.returncode}:\n{self.output()}")
                try:
                    if client.get(f"{self.url}/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.02)  # polling pace
        pytest.fail(f"sono serve did not become healthy:\n{self.output()}")

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, then wait for the exit code (SIGKILL and fail if it does not stop). uvicorn shuts
        down gracefully, then re-raises the signal: a clean stop is ``-SIGTERM`` (exit status 143)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                pytest.fail(f"sono serve did not stop within {timeout} s of SIGTERM:\n{self.output()}")
        return self.process.returncode


def start_server(env: Mapping[str, str], *args: str, log_dir: Path, port: int | None = None) -> Server:
    port = port or free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"serve-{port}.log"
    with log.open("wb") as out:
        started_at = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "sono", "serve", "--port", str(port), *args],
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=log_dir,  # no .env there
        )
    return Server(process, port, log, started_at)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Servers registered here are stopped (and killed if need be) after the test."""
    started: list[Server] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_fresh_data_dir_is_healthy(tmp_path: Path, servers: list[Server]) -> None:
    data = tmp_path / "data"  # does not exist yet
    server = start_server(base_env(data), log_dir=tmp_path, port=None)
    servers.append(server)
    server.wait_healthy()

    secrets_dir = data / "secrets"
    files = sorted(p for p in secrets_dir.iterdir() if p.is_file())
    assert {p.name for p in files} >= {"secret_key", "refresh_secret_key", "media_signing_key", "rsa_private_key.pem"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(secrets_dir.stat().st_mode) & 0o077 == 0

    response = httpx.get(f"{server.url}/api/v1/users/public-key", timeout=5)
    assert response.status_code == 200
    assert response.json()["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert "server" not in response.headers

    assert server.stop() in CLEAN_EXIT
    assert "Application shutdown complete" in server.output()
    assert "Traceback" not in server.output()
    assert f"Sono is serving at http://127.0.0.1:{server.port} (API docs: http://127.0.0.1:{server.port}/docs" in (
        server.output()
    )


def test_two_workers_share_one_key_pair(tmp_path: Path, servers: list[Server]) -> None:
    server = start_server(base_env(tmp_path / "data"), "--workers", "2", log_dir=tmp_path)
    servers.append(server)
    server.wait_healthy()
    assert len(_children(server.process.pid)) >= 2

    key_ids = set()
    for _ in range(20):  # a new connection each time, so the requests spread over the workers
        response = httpx.get(f"{server.url}/api/v1/users/public-key", timeout=5, headers={"Connection": "close"})
        assert response.status_code == 200
        key_ids.add(response.json()["key_id"])
    assert len(key_ids) == 1
    assert httpx.get(f"{server.url}/api/v1/users/me?password=hunter2", timeout=5).status_code == 401

    assert server.stop() in CLEAN_EXIT
    output = server.output()
    assert "Application shutdown complete" in output
    assert "Traceback" not in output
    # the workers log the app's own access lines (uvicorn's, which would show the query, are off)
    assert "sono.access" in output
    assert "hunter2" not in output


def test_no_migrate_leaves_the_database_alone(tmp_path: Path, servers: list[Server]) -> None:
    data = tmp_path / "data"
    server = start_server(base_env(data), "--no-migrate", log_dir=tmp_path)
    servers.append(server)
    server.wait_healthy()
    server.stop()

    check = subprocess.run(
        [sys.executable, "-m", "sono", "db", "current"],
        env=base_env(data),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout == "revision: base\n"


def test_bad_configuration_stops_before_serving(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sono", "serve", "--port", str(free_port())],
        env=base_env(tmp_path / "data", SONO_TRUSTED_PROXIES="10.0.0.0/99"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: SONO_TRUSTED_PROXIES")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000"),
        ("0.0.0.0", "http://localhost:8000"),
        ("::", "http://localhost:8000"),
        ("::1", "http://[::1]:8000"),
        ("api.example.com", "http://api.example.com:8000"),
    ],
)
def test_default_public_url(host: str, url: str) -> None:
    assert default_public_url(host, 8000) == url


def test_the_first_request_of_a_fresh_process_can_be_a_login(tmp_path: Path, servers: list[Server]) -> None:
    """An admin made from the command line logs in as the server's very first request (the login
    path must not depend on anything an earlier request would have set up)."""
    env = base_env(tmp_path / "data", SONO_ARGON2_MEMORY_KIB="1024", SONO_ARGON2_TIME_COST="1")
    for command in (
        ["db", "upgrade"],
        ["users", "create-admin", "--username", "root", "--email", "root@example.com", "--password", "Adm1n!Passw0rd"],
    ):
        subprocess.run([sys.executable, "-m", "sono", *command], env=env, check=True, capture_output=True, cwd=tmp_path)
    server = start_server(env, log_dir=tmp_path)
    servers.append(server)
    server.wait_healthy()

    with httpx.Client(base_url=server.url, timeout=5) as client:
        login = client.post("/api/v1/users/token", data={"username": "root", "password": "Adm1n!Passw0rd"})
        assert login.status_code == 200, login.text
        me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    assert me.status_code == 200
    assert (me.json()["username"], me.json()["is_superuser"]) == ("root", True)
    assert "Traceback" not in server.output()


# --------------------------------------------------------------------------- slow clients, busy ports


def _read_response(sock: socket.socket) -> bytes:
    """One whole HTTP response (the head and a ``Content-Length`` body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed mid-response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _trickle_until_closed(sock: socket.socket, guard_seconds: float = 60.0) -> bytes:
    """Send one more header line whenever the server has said nothing for a moment, until it
    closes the connection; what it sent before closing. ``guard_seconds`` is a failure guard."""
    deadline = time.monotonic() + guard_seconds
    received = b""
    line = 0
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], 0.1)  # the trickle's pace
        try:
            if readable:
                chunk = sock.recv(65536)
                if not chunk:
                    return received
                received += chunk
            else:
                line += 1
                sock.sendall(f"X-Slow-{line}: {line}\r\n".encode())
        except (ConnectionResetError, BrokenPipeError):
            return received
    pytest.fail(f"the server kept a connection whose head never ended ({line} header lines sent)")


def test_a_slow_request_head_is_cut_off(tmp_path: Path, servers: list[Server]) -> None:
    server = start_server(base_env(tmp_path / "data", SONO_HEADER_TIMEOUT_SECONDS="0.5"), log_dir=tmp_path)
    servers.append(server)
    server.wait_healthy()
    request = b"GET /health HTTP/1.1\r\nHost: sono\r\n"

    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as slow:
        slow.sendall(request)  # a head that never ends
        assert _trickle_until_closed(slow) == b""

    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as kept_alive:
        kept_alive.sendall(request + b"\r\n")
        assert _read_response(kept_alive).startswith(b"HTTP/1.1 200 ")
        kept_alive.sendall(request)  # the next request on the same connection is held to it too
        assert _trickle_until_closed(kept_alive) == b""

    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as prompt:
        prompt.sendall(request + b"\r\n")  # a client that sends its head at once is served
        assert _read_response(prompt).startswith(b"HTTP/1.1 200 ")

    assert server.stop() in CLEAN_EXIT
    assert "Traceback" not in server.output()


def test_a_busy_port_is_an_error_naming_the_address(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "sono", "serve", "--port", str(port)],
            env=base_env(tmp_path / "data"),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}: address already in use"), done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data" / "sono.db").exists()  # refused before migrating anything


def test_requests_the_http_parser_refuses_get_the_api_error_shape(tmp_path: Path, servers: list[Server]) -> None:
    """A URL beyond the parser's limit on a request line, or a head that is not HTTP, is a 400 with
    ``{"detail"}`` as JSON (not uvicorn's plain text), and the connection is closed."""
    server = start_server(base_env(tmp_path / "data"), log_dir=tmp_path)
    servers.append(server)
    server.wait_healthy()
    heads = [
        b"GET /api/v1/users/search?query=" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: sono\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: sono\r\nBroken header line\r\n\r\n",
    ]
    for head in heads:
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
            sock.sendall(head)
            response = b""
            while chunk := sock.recv(65536):  # until the server closes the connection
                response += chunk
        status, _, rest = response.partition(b"\r\n")
        headers, _, body = rest.partition(b"\r\n\r\n")
        assert status == b"HTTP/1.1 400 Bad Request", response[:200]
        assert b"content-type: application/json" in headers.lower()
        assert json.loads(body) == {"detail": "Invalid HTTP request"}

    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:  # and it still serves
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: sono\r\n\r\n")
        assert _read_response(sock).startswith(b"HTTP/1.1 200 ")
    assert "Traceback" not in server.output()
