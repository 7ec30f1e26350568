"""Two ``sono serve`` processes on one PostgreSQL database and one Redis behave as one deployment:
maintenance mode, logout and rate limits are shared."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.test_serve import CLEAN_EXIT, Server, base_env, start_server

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

ADMIN = ("admin", "admin@example.com", "Adm1n!Passw0rd")
USER = ("listener", "listener@example.com", "L1sten!Passw0rd")
LOGIN_LIMIT_PER_MINUTE = 10


def _until(predicate: Callable[[], bool], guard_seconds: float = 30.0) -> bool:
    """Poll ``predicate`` until it holds; False after ``guard_seconds``, a failure guard only (how
    soon processes agree is tested with an injected clock in ``test_stores.py``)."""
    deadline = time.monotonic() + guard_seconds
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _login(client: httpx.Client, server: Server, username: str, password: str) -> httpx.Response:
    return client.post(f"{server.url}/api/v1/users/token", data={"username": username, "password": password})


def _tokens(client: httpx.Client, server: Server, username: str, password: str) -> dict[str, str]:
    response = _login(client, server, username, password)
    assert response.status_code == 200, response.text
    return response.json()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def deployment(tmp_path: Path, postgres_url: str, redis_clean_url: str) -> Iterator[tuple[Server, Server, redis.Redis]]:
    """Processes A and B, started at the same time (both migrate; the advisory lock serialises
    them), sharing the database, Redis, the JWT secrets and the RSA key, each with its own data dir."""
    key_file = tmp_path / "rsa.pem"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_file.chmod(0o600)
    shared = {
        "SONO_DATABASE_URL": postgres_url,
        "SONO_REDIS_URL": redis_clean_url,
        "SONO_SECRET_KEY": secrets.token_urlsafe(48),
        "SONO_REFRESH_SECRET_KEY": secrets.token_urlsafe(48),
        "SONO_RSA_PRIVATE_KEY_FILE": str(key_file),
        "SONO_ARGON2_MEMORY_KIB": "1024",
        "SONO_ARGON2_TIME_COST": "1",
        "SONO_JOBS_ENABLED": "false",
    }
    env_a = base_env(tmp_path / "a", **shared)
    env_b = base_env(tmp_path / "b", **shared)
    a = start_server(env_a, log_dir=tmp_path / "a")
    b = start_server(env_b, log_dir=tmp_path / "b")
    cache = redis.Redis.from_url(redis_clean_url)
    try:
        a.wait_healthy()
        b.wait_healthy()
        username, email, password = ADMIN
        made = subprocess.run(
            [sys.executable, "-m", "sono", "users", "create-admin", "--username", username, "--email", email,
             "--password", password],
            env=env_a, cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        yield a, b, cache
        assert a.stop() in CLEAN_EXIT, a.output()
        assert b.stop() in CLEAN_EXIT, b.output()
    finally:
        cache.close()
        for server in (a, b):
            if server.process.poll() is None:
                server.process.kill()
                server.process.wait()


def test_rate_limits_maintenance_and_logout_are_shared(deployment: tuple[Server, Server, redis.Redis]) -> None:
    a, b, cache = deployment
    with httpx.Client(timeout=10) as client:
        username, email, password = USER
        registered = client.post(
            f"{a.url}/api/v1/users/", json={"username": username, "email": email, "password": password}
        )
        assert registered.status_code == 201, registered.text

        # (c) one login budget per IP across both processes
        cache.flushdb()
        half = LOGIN_LIMIT_PER_MINUTE // 2
        for server in [a] * half + [b] * half:
            response = _login(client, server, username, password)
            assert response.status_code == 200, (server.url, response.status_code, response.text)
        for server in (a, b):
            limited = _login(client, server, username, password)
            assert limited.status_code == 429, (server.url, limited.text)
            assert limited.json() == {"detail": "Too many requests"}
            assert int(limited.headers["retry-after"]) > 0
        cache.flushdb()  # a fresh budget for the logins below

        # (a) maintenance switched on through A turns B away
        admin = _tokens(client, a, ADMIN[0], ADMIN[2])["access_token"]
        enabled = client.post(
            f"{a.url}/api/v1/admin/maintenance/enable", params={"message": "Back soon"}, headers=_bearer(admin)
        )
        assert enabled.status_code == 200, enabled.text

        # an anonymous GET /users/me is a 401 normally and a 503 in maintenance
        def b_in_maintenance() -> bool:
            return client.get(f"{b.url}/api/v1/users/me").status_code == 503

        assert _until(b_in_maintenance), "B did not see maintenance mode"
        refused = client.get(f"{b.url}/api/v1/users/me")
        assert refused.json() == {"detail": "Back soon", "status": "maintenance", "retry_after": 3600}
        assert refused.headers["retry-after"] == "3600"
        assert client.get(f"{b.url}/health").status_code == 200
        assert client.get(f"{b.url}/api/v1/users/me", headers=_bearer(admin)).status_code == 200  # admins pass

        disabled = client.post(f"{b.url}/api/v1/admin/maintenance/disable", headers=_bearer(admin))
        assert disabled.status_code == 200, disabled.text
        assert _until(lambda: client.get(f"{a.url}/api/v1/users/me").status_code == 401), "A still in maintenance"

        # (b) logout on A ends the access token on B
        tokens = _tokens(client, a, username, password)
        me = client.get(f"{b.url}/api/v1/users/me", headers=_bearer(tokens["access_token"]))
        assert me.status_code == 200, me.text
        assert me.json()["username"] == username
        logout = client.post(
            f"{a.url}/api/v1/users/logout",
            json={"refresh_token": tokens["refresh_token"]},
            headers=_bearer(tokens["access_token"]),
        )
        assert logout.status_code == 200, logout.text
        assert logout.json() == {"message": "Successfully logged out"}

        def b_refuses_token() -> bool:
            response = client.get(f"{b.url}/api/v1/users/me", headers=_bearer(tokens["access_token"]))
            return response.status_code == 401

        assert _until(b_refuses_token), "B still accepts the access token logged out on A"
        refresh = client.post(f"{b.url}/api/v1/users/token/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refresh.status_code == 401
