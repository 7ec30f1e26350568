"""Rate limiters (in-process and on Redis) and the maintenance store (the database, cached)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace, TracebackType
from typing import Any

import pytest
import redis.asyncio as aioredis
import redis.exceptions

from sono.adapters.sqlalchemy.engine import create_engine
from sono.adapters.sqlalchemy.migrate import upgrade
from sono.adapters.sqlalchemy.uow import SqlUnitOfWorkFactory
from sono.adapters.stores.maintenance import DatabaseMaintenanceStore
from sono.adapters.stores.rate_limit import MemoryRateLimiter, RedisRateLimiter
from sono.application.maintenance.messages import SetMaintenance
from sono.application.messages import Actor
from sono.bootstrap import Container, build_container
from sono.config import load_settings
from sono.domain.maintenance import DEFAULT_MESSAGE, MaintenanceState
from tests.fakes.security import FakeClock
from tests.integration.tcp_proxy import TcpProxy

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"

# --------------------------------------------------------------------------- rate limiters


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def limiter_redis_url(request: pytest.FixtureRequest) -> str | None:
    return None if request.param == "memory" else request.getfixturevalue("redis_clean_url")


class WallClock:
    """A wall clock the test moves: for the limiters, and for ``limits``, which keeps Redis
    windows in ``time.time()`` seconds."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))  # whole seconds: Redis keeps the hit times as text

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> WallClock:
    clock = WallClock()
    fake_time = SimpleNamespace(time=clock)
    monkeypatch.setattr("limits.aio.storage.redis.redispy.time", fake_time)
    monkeypatch.setattr("limits.aio.strategies.time", fake_time)
    return clock


@pytest.fixture
async def limiter(limiter_redis_url: str | None, clock: WallClock) -> AsyncIterator[Any]:
    instance: Any = (
        MemoryRateLimiter(monotonic=clock)
        if limiter_redis_url is None
        else RedisRateLimiter(limiter_redis_url, wall_clock=clock)
    )
    yield instance
    await instance.close()


async def test_limit_then_retry_after(limiter: Any) -> None:
    assert [await limiter.hit("login", "10.0.0.1", 3, 60) for _ in range(3)] == [None, None, None]
    retry_after = await limiter.hit("login", "10.0.0.1", 3, 60)
    assert isinstance(retry_after, int)
    assert 1 <= retry_after <= 60
    assert await limiter.hit("login", "10.0.0.1", 3, 60) is not None  # refused hits are not counted


async def test_peek_answers_as_hit_would_without_counting(limiter: Any, clock: WallClock) -> None:
    assert [await limiter.peek("failures", "10.0.0.1", 2, 10) for _ in range(5)] == [None] * 5
    assert [await limiter.hit("failures", "10.0.0.1", 2, 10) for _ in range(2)] == [None, None]
    assert await limiter.peek("failures", "10.0.0.1", 2, 10) == 10
    assert await limiter.peek("failures", "10.0.0.2", 2, 10) is None
    clock.advance(10.01)
    assert await limiter.peek("failures", "10.0.0.1", 2, 10) is None


async def test_keys_and_scopes_are_independent(limiter: Any) -> None:
    assert await limiter.hit("login", "10.0.0.1", 1, 60) is None
    assert await limiter.hit("login", "10.0.0.1", 1, 60) is not None
    assert await limiter.hit("login", "10.0.0.2", 1, 60) is None
    assert await limiter.hit("login", "2001:db8::1", 1, 60) is None
    assert await limiter.hit("register", "10.0.0.1", 1, 60) is None


async def test_window_moves_on(limiter: Any, clock: WallClock) -> None:
    assert await limiter.hit("s", "k", 2, 10) is None
    clock.advance(4)
    assert await limiter.hit("s", "k", 2, 10) is None
    assert await limiter.hit("s", "k", 2, 10) == 6  # the first hit leaves the window in 6 s
    clock.advance(6.01)
    assert await limiter.hit("s", "k", 2, 10) is None  # the first hit has left the window
    assert await limiter.hit("s", "k", 2, 10) == 4  # the second leaves it 4 s later


async def test_reset_clears_every_counter(limiter: Any) -> None:
    for scope in ("login", "register"):
        assert await limiter.hit(scope, "10.0.0.1", 1, 60) is None
        assert await limiter.hit(scope, "10.0.0.1", 1, 60) is not None
    await limiter.reset()
    assert await limiter.hit("login", "10.0.0.1", 1, 60) is None
    assert await limiter.hit("register", "10.0.0.1", 1, 60) is None


async def test_concurrent_hits_never_exceed_the_limit(limiter: Any) -> None:
    results = await asyncio.gather(*(limiter.hit("login", "10.9.9.9", 5, 60) for _ in range(50)))
    assert results.count(None) == 5


@pytest.mark.redis
async def test_redis_limiters_share_counts(redis_clean_url: str) -> None:
    first, second = RedisRateLimiter(redis_clean_url), RedisRateLimiter(redis_clean_url)
    try:
        assert await first.hit("login", "10.0.0.1", 3, 60) is None
        assert await second.hit("login", "10.0.0.1", 3, 60) is None
        assert await first.hit("login", "10.0.0.1", 3, 60) is None
        assert await second.hit("login", "10.0.0.1", 3, 60) is not None
        await second.reset()
        assert await first.hit("login", "10.0.0.1", 3, 60) is None
        await first.ping()
    finally:
        await first.close()
        await second.close()


@pytest.mark.redis
async def test_redis_keys_are_prefixed_and_reset_keeps_other_data(redis_clean_url: str) -> None:
    client = aioredis.from_url(redis_clean_url)
    limiter = RedisRateLimiter(redis_clean_url)
    try:
        await client.set("someone:else", "1")
        await limiter.hit("login", "10.0.0.1", 3, 60)
        keys = {k.decode() for k in await client.keys("*")}
        assert "someone:else" in keys
        ours = keys - {"someone:else"}
        assert ours
        assert all(k.startswith("sono:rl:") for k in ours)
        assert 0 < await client.ttl(next(iter(ours))) <= 60
        await limiter.reset()
        assert {k.decode() for k in await client.keys("*")} == {"someone:else"}
    finally:
        await limiter.close()
        await client.aclose()


async def test_redis_limiter_falls_back_to_process_limits_when_redis_is_down() -> None:
    limiter = RedisRateLimiter(UNREACHABLE_REDIS)
    try:
        assert [await limiter.hit("login", "10.0.0.1", 2, 60) for _ in range(2)] == [None, None]
        assert await limiter.hit("login", "10.0.0.1", 2, 60) is not None
        with pytest.raises(redis.exceptions.ConnectionError):
            await limiter.ping()
    finally:
        await limiter.close()


# --------------------------------------------------------------------------- unit of work stand-in


class _StubDatabase:
    def __init__(self) -> None:
        self.state = MaintenanceState()
        self.reads = 0
        self.commits = 0


class _StubMaintenanceRepository:
    def __init__(self, uow: _StubUnitOfWork) -> None:
        self._uow = uow

    async def get(self) -> MaintenanceState:
        self._uow.db.reads += 1
        return self._uow.pending or self._uow.db.state

    async def set(self, state: MaintenanceState) -> None:
        self._uow.pending = state


class _StubUnitOfWork:
    """Just enough of a unit of work for the maintenance stores: staged writes, commit, rollback."""

    def __init__(self, db: _StubDatabase) -> None:
        self.db = db
        self.pending: MaintenanceState | None = None
        self.maintenance = _StubMaintenanceRepository(self)

    async def __aenter__(self) -> _StubUnitOfWork:
        self.pending = None
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.pending = None

    async def commit(self) -> None:
        if self.pending is not None:
            self.db.state = self.pending
            self.db.commits += 1
        self.pending = None

    async def rollback(self) -> None:
        self.pending = None


class _StubUnitOfWorkFactory:
    def __init__(self) -> None:
        self.db = _StubDatabase()

    def __call__(self, *, read_only: bool = False) -> _StubUnitOfWork:
        return _StubUnitOfWork(self.db)


@pytest.fixture
def uow_factory() -> Any:
    """The shared in-memory fake when it exists, else the stand-in above."""
    try:
        from tests.fakes.uow import FakeUnitOfWorkFactory
    except ImportError:
        return _StubUnitOfWorkFactory()
    return FakeUnitOfWorkFactory()


ON = MaintenanceState(
    enabled=True,
    message="Upgrading the database",
    updated_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    updated_by_id=1,
)
OFF = MaintenanceState(enabled=False, message="done")


async def _database_state(uow_factory: Any) -> MaintenanceState:
    async with uow_factory() as uow:
        return await uow.maintenance.get()


# --------------------------------------------------------------------------- maintenance


async def test_database_store_default_set_and_get(uow_factory: Any) -> None:
    store = DatabaseMaintenanceStore(uow_factory)
    state = await store.get()
    assert state.enabled is False
    assert state.message == DEFAULT_MESSAGE == "Service temporarily unavailable for maintenance"
    await store.set(ON)
    assert await store.get() == ON
    assert await _database_state(uow_factory) == ON  # committed


async def test_database_store_instances_converge_after_the_cache_interval(uow_factory: Any) -> None:
    clock = FakeClock()
    a = DatabaseMaintenanceStore(uow_factory, cache_seconds=1.0, monotonic=clock.monotonic)
    b = DatabaseMaintenanceStore(uow_factory, cache_seconds=1.0, monotonic=clock.monotonic)
    assert (await b.get()).enabled is False
    await a.set(ON)
    assert await a.get() == ON  # the writer sees its change at once
    clock.advance(0.5)
    assert (await b.get()).enabled is False  # B's cache is still fresh
    clock.advance(0.5)
    assert await b.get() == ON  # one interval after B last read the database
    await b.set(OFF)
    clock.advance(1.0)
    assert await a.get() == OFF


async def test_database_store_reads_at_most_once_per_interval() -> None:
    factory = _StubUnitOfWorkFactory()
    clock = FakeClock()
    store = DatabaseMaintenanceStore(factory, cache_seconds=1.0, monotonic=clock.monotonic)
    results = await asyncio.gather(*(store.get() for _ in range(20)))
    assert all(r == MaintenanceState() for r in results)
    for _ in range(100):
        await store.get()
    assert factory.db.reads == 1  # concurrent misses share one refresh
    await store.set(ON)
    assert await store.get() == ON
    assert factory.db.reads == 1
    clock.advance(1.0)
    assert await store.get() == ON
    assert factory.db.reads == 2


async def test_database_store_serves_the_cached_state_when_the_database_fails() -> None:
    factory = _StubUnitOfWorkFactory()
    clock = FakeClock()
    store = DatabaseMaintenanceStore(factory, cache_seconds=1.0, monotonic=clock.monotonic)
    await store.set(ON)
    clock.advance(1.0)

    async def broken() -> MaintenanceState:
        raise ConnectionError("database down")

    store.load = broken  # type: ignore[method-assign]
    assert await store.get() == ON
    store.invalidate()
    with pytest.raises(ConnectionError):
        await store.get()


async def _until(predicate: Callable[[], Awaitable[bool]], guard_seconds: float = 30.0) -> bool:
    """Poll ``predicate`` until it holds; False after ``guard_seconds`` (a failure guard only)."""
    deadline = time.monotonic() + guard_seconds
    while not await predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


@pytest.mark.redis
async def test_maintenance_follows_the_database_whatever_redis_went_through(
    tmp_path: Path, redis_clean_url: str
) -> None:
    """The incident: maintenance switched on, Redis went down, maintenance switched off (on
    another process), Redis came back, and the old "on" in Redis kept the service in
    maintenance. The database is the truth: every process follows it."""
    from redis.asyncio.connection import parse_url

    address = parse_url(redis_clean_url)
    proxy = await TcpProxy(address.get("host", "127.0.0.1"), address.get("port", 6379)).start()
    database = str(address.get("db", 0))
    env = {
        "SONO_DATA_DIR": str(tmp_path / "data"),
        "SONO_REDIS_URL": f"redis://127.0.0.1:{proxy.port}/{database}",
        "SONO_JOBS_ENABLED": "false",
    }
    settings = load_settings(env)
    await upgrade(settings.database_url)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(proxy.close)

        async def process() -> Container:
            container = await build_container(settings)
            stack.push_async_callback(container.aclose)
            return container

        a, b = await process(), await process()

        async def everyone_sees(enabled: bool, *processes: Container) -> bool:
            states = [await p.maintenance.status() for p in processes]
            return all(state.enabled is enabled for state in states)

        await a.bus(SetMaintenance(True, "Upgrading"), Actor.operator())
        assert await _until(lambda: everyone_sees(True, a, b))

        await proxy.set_mode("refuse")  # Redis goes down
        await b.bus(SetMaintenance(False), Actor.operator())
        assert await everyone_sees(False, b)
        assert await _until(lambda: everyone_sees(False, a, b))

        await proxy.set_mode("forward")  # Redis is back
        assert await everyone_sees(False, a, b, await process())
        engine = create_engine(settings.database_url)
        stack.push_async_callback(engine.dispose)
        assert (await _database_state(SqlUnitOfWorkFactory(engine))).enabled is False
