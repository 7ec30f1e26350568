"""Readiness means "can serve" (issue 12, section 4): the database down is 503; Redis, the media
storage or the charts database down leave the API serving, so readiness answers 200 with that part
marked ``degraded``."""

from __future__ import annotations

import socket

import pytest

from sono.adapters.sqlalchemy.migrate import upgrade
from sono.bootstrap import build_container
from sono.config import load_settings
from sono.entrypoints.http.app import create_app
from tests.integration.api.conftest import Api, http_client


def closed_port() -> int:
    """A loopback port where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_redis_down_is_degraded_and_the_api_keeps_serving(backend_env: dict[str, str]) -> None:
    settings = load_settings(backend_env | {"SONO_REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0"})
    await upgrade(settings.database_url)
    container = await build_container(settings)
    try:
        async with http_client(create_app(settings, container=container)) as client:
            api = Api(client._transport.app, client, container, settings)  # type: ignore[attr-defined]

            ready = await client.get("/health/ready")

            assert ready.status_code == 200, ready.text
            assert ready.json()["status"] == "degraded"
            assert ready.json()["checks"]["cache"] == "degraded"
            assert ready.json()["checks"]["database"] == "ok"
            await api.account("alice")  # registers and logs in: the rate limits fell back
    finally:
        await container.aclose()


async def test_storage_down_is_degraded(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    async def unreachable() -> None:
        raise ConnectionError("the object store is unreachable")

    storage = next(check for check in api.container.ports.health_checks if check.name == "storage")
    monkeypatch.setattr(storage, "probe", unreachable)

    ready = await api.client.get("/health/ready")

    assert ready.status_code == 200, ready.text
    assert ready.json() == {
        "status": "degraded",
        "checks": {name: ("degraded" if name == "storage" else "ok") for name in ready.json()["checks"]},
    }


async def test_the_database_down_is_503(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    async def down() -> None:
        raise ConnectionRefusedError("the database is down")

    database = next(check for check in api.container.ports.health_checks if check.name == "database")
    monkeypatch.setattr(database, "probe", down)

    ready = await api.client.get("/health/ready")

    assert ready.status_code == 503, ready.text
    assert ready.json()["detail"] == "Service unavailable: database"
    assert ready.json()["checks"]["database"] == "error"
