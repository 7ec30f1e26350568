"""The app factory: a container built at startup when none is given, the periodic jobs, and the
uvicorn factory reading the environment."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar

from sono.adapters.sqlalchemy.migrate import upgrade
from sono.application.bus import MessageBus
from sono.application.jobs import RunDueJobs
from sono.application.messages import Actor, Message
from sono.bootstrap import Container, build_container
from sono.config import load_settings
from sono.entrypoints.http.app import app_from_env, create_app
from tests.integration.api.conftest import http_client


async def test_without_a_container_the_app_builds_one_at_startup(backend_env: dict[str, str]) -> None:
    settings = load_settings(backend_env)
    await upgrade(settings.database_url)
    app = create_app(settings)

    async with app.lifespan(), http_client(app) as client:
        assert isinstance(app.state.container, Container)
        response = await client.get("/health/ready")
        assert response.status_code == 200, response.text
        assert (await client.post("/api/v1/users/token", data={"username": "x", "password": "y"})).status_code == 401


class CountingJobs:
    """The container's bus, counting the periodic jobs it is sent (the first run fails)."""

    def __init__(self, bus: MessageBus) -> None:
        self._bus = bus
        self.runs = 0

    async def __call__(self, message: Message[Any], actor: Actor) -> Any:
        if not isinstance(message, RunDueJobs):
            return await self._bus(message, actor)
        assert actor == Actor.worker()
        self.runs += 1
        if self.runs == 1:
            raise RuntimeError("first run fails")
        return None


class SteppedClock:
    """The system clock, except that ``sleep`` waits until the test lets it go (``step``)."""

    def __init__(self, clock: object) -> None:
        self._clock = clock
        self.sleeping = asyncio.Event()
        self._wake = asyncio.Event()
        self.slept: list[float] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self._clock, name)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.sleeping.set()
        await self._wake.wait()
        self._wake.clear()

    async def step(self) -> None:
        """Wake the sleeper and wait until it sleeps again."""
        self.sleeping.clear()
        self._wake.set()
        await asyncio.wait_for(self.sleeping.wait(), timeout=30)


async def test_the_jobs_run_periodically_and_stop_at_shutdown(tmp_path: Path, caplog) -> None:
    settings = load_settings({"SONO_DATA_DIR": str(tmp_path), "SONO_JOBS_INTERVAL_SECONDS": "7"})
    container = await build_container(settings)
    jobs = container.bus = CountingJobs(container.bus)  # type: ignore[assignment]
    clock = container.ports.clock = SteppedClock(container.ports.clock)  # type: ignore[assignment]
    app = create_app(settings, container=container)
    assert settings.jobs_enabled

    try:
        with caplog.at_level(logging.ERROR):
            async with app.lifespan():
                await asyncio.wait_for(clock.sleeping.wait(), timeout=30)
                assert jobs.runs == 1 and clock.slept == [7]  # at startup, then it waits an interval
                await clock.step()
                assert jobs.runs == 2 and clock.slept == [7, 7]  # again, despite the first failure
        assert "periodic jobs failed" in caplog.text
        clock._wake.set()  # a sleeper left now would run the jobs again
        await asyncio.sleep(0)
        assert jobs.runs == 2  # cancelled at shutdown
    finally:
        await container.aclose()


async def test_jobs_can_be_switched_off(tmp_path: Path) -> None:
    settings = load_settings({"SONO_DATA_DIR": str(tmp_path)})
    container = await build_container(settings)
    jobs = container.bus = CountingJobs(container.bus)  # type: ignore[assignment]

    try:
        async with create_app(settings, container=container, run_jobs=False).lifespan():
            await asyncio.sleep(0)
    finally:
        await container.aclose()

    assert jobs.runs == 0


async def test_app_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SONO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SONO_JOBS_ENABLED", "false")
    monkeypatch.setenv("SONO_ARGON2_MEMORY_KIB", "1024")

    app = app_from_env()

    assert isinstance(app, Litestar)
    async with app.lifespan(), http_client(app) as client:
        assert app.state.container.settings.data_dir == tmp_path / "data"
        assert (await client.get("/health")).status_code == 200
