"""Rate limiters and maintenance stores, in-process and on Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import pytest
import redis.asyncio as aioredis
import redis.exceptions

from sono.adapters.stores.maintenance import REDIS_KEY, DatabaseMaintenanceStore, RedisMaintenanceStore
from sono.adapters.stores.rate_limit import MemoryRateLimiter, RedisRateLimiter
from sono.domain.maintenance import DEFAULT_MESSAGE, MaintenanceState

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"

# --------------------------------------------------------------------------- rate limiters


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def limiter_redis_url(request: pytest.FixtureRequest) -> str | None:
    return None if request.param == "memory" else request.getfixturevalue("redis_clean_url")


@pytest.fixture
async def limiter(limiter_redis_url: str | None) -> AsyncIterator[Any]:
    instance: Any = MemoryRateLimiter() if limiter_redis_url is None else RedisRateLimiter(limiter_redis_url)
    yield instance
    await instance.close()


async def test_limit_then_retry_after(limiter: Any) -> None:
    assert [await limiter.hit("login", "10.0.0.1", 3, 60) for _ in range(3)] == [None, None, None]
    retry_after = await limiter.hit("login", "10.0.0.1", 3, 60)
    assert isinstance(retry_after, int)
    assert 1 <= retry_after <= 60
    assert await limiter.hit("login", "10.0.0.1", 3, 60) is not None  # refused hits are not counted


async def test_keys_and_scopes_are_independent(limiter: Any) -> None:
    assert await limiter.hit("login", "10.0.0.1", 1, 60) is None
    assert await limiter.hit("login", "10.0.0.1", 1, 60) is not None
    assert await limiter.hit("login", "10.0.0.2", 1, 60) is None
    assert await limiter.hit("login", "2001:db8::1", 1, 60) is None
    assert await limiter.hit("register", "10.0.0.1", 1, 60) is None


async def test_window_moves_on(limiter: Any) -> None:
    assert await limiter.hit("s", "k", 2, 1) is None
    assert await limiter.hit("s", "k", 2, 1) is None
    assert await limiter.hit("s", "k", 2, 1) == 1
    await asyncio.sleep(1.05)
    assert await limiter.hit("s", "k", 2, 1) is None


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
        from sono.adapters.memory.uow import FakeUnitOfWorkFactory
    except ImportError:
        return _StubUnitOfWorkFactory()
    return FakeUnitOfWorkFactory()


ON = MaintenanceState(
    enabled=True,
    message="Upgrading the database",
    updated_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    updated_by_id=1,
)


async def _database_state(uow_factory: Any) -> MaintenanceState:
    async with uow_factory() as uow:
        return await uow.maintenance.get()


# --------------------------------------------------------------------------- maintenance: database


async def test_database_store_default_set_and_get(uow_factory: Any) -> None:
    store = DatabaseMaintenanceStore(uow_factory)
    state = await store.get()
    assert state.enabled is False
    assert state.message == DEFAULT_MESSAGE == "Service temporarily unavailable for maintenance"
    await store.set(ON)
    assert await store.get() == ON
    assert await _database_state(uow_factory) == ON  # committed


async def test_database_store_instances_converge_after_the_cache_interval(uow_factory: Any) -> None:
    a = DatabaseMaintenanceStore(uow_factory, cache_seconds=0.05)
    b = DatabaseMaintenanceStore(uow_factory, cache_seconds=0.05)
    assert (await b.get()).enabled is False
    await a.set(ON)
    assert await a.get() == ON  # the writer sees its change at once
    await asyncio.sleep(0.08)
    assert await b.get() == ON
    await b.set(MaintenanceState())
    await asyncio.sleep(0.08)
    assert (await a.get()).enabled is False


async def test_database_store_reads_at_most_once_per_interval() -> None:
    factory = _StubUnitOfWorkFactory()
    store = DatabaseMaintenanceStore(factory, cache_seconds=60)
    results = await asyncio.gather(*(store.get() for _ in range(20)))
    assert all(r == MaintenanceState() for r in results)
    for _ in range(100):
        await store.get()
    assert factory.db.reads == 1  # concurrent misses share one refresh
    await store.set(ON)
    assert await store.get() == ON
    assert factory.db.reads == 1


async def test_database_store_serves_the_cached_state_when_the_database_fails() -> None:
    factory = _StubUnitOfWorkFactory()
    store = DatabaseMaintenanceStore(factory, cache_seconds=0.01)
    await store.set(ON)
    await asyncio.sleep(0.02)

    async def broken() -> MaintenanceState:
        raise ConnectionError("database down")

    store.load = broken  # type: ignore[method-assign]
    assert await store.get() == ON
    store.invalidate()
    with pytest.raises(ConnectionError):
        await store.get()


# --------------------------------------------------------------------------- maintenance: Redis


@pytest.mark.redis
async def test_redis_store_default_set_and_get(redis_clean_url: str, uow_factory: Any) -> None:
    store = RedisMaintenanceStore(redis_clean_url, uow_factory)
    try:
        state = await store.get()
        assert state.enabled is False
        assert state.message == DEFAULT_MESSAGE
        await store.set(ON)
        assert await store.get() == ON
        assert await _database_state(uow_factory) == ON
        await store.ping()
    finally:
        await store.close()


@pytest.mark.redis
async def test_redis_stores_share_state(redis_clean_url: str, uow_factory: Any) -> None:
    a = RedisMaintenanceStore(redis_clean_url, uow_factory)
    b = RedisMaintenanceStore(redis_clean_url, uow_factory)
    try:
        assert (await b.get()).enabled is False
        await a.set(ON)
        assert await b.get() == ON  # immediately, no cache interval
        await b.set(MaintenanceState(enabled=False, message="done"))
        assert await a.get() == MaintenanceState(enabled=False, message="done")
    finally:
        await a.close()
        await b.close()


@pytest.mark.redis
async def test_redis_store_state_survives_a_redis_flush(redis_clean_url: str, uow_factory: Any) -> None:
    store = RedisMaintenanceStore(redis_clean_url, uow_factory)
    await store.set(ON)
    await store.close()
    client = aioredis.from_url(redis_clean_url)
    try:
        await client.flushdb()
        fresh = RedisMaintenanceStore(redis_clean_url, uow_factory)
        try:
            assert await fresh.get() == ON  # reloaded from the database
            assert await client.exists(REDIS_KEY) == 1  # and written back to Redis
            assert 0 < await client.ttl(REDIS_KEY) <= 60
        finally:
            await fresh.close()
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_redis_store_reads_redis_not_the_database(redis_clean_url: str) -> None:
    factory = _StubUnitOfWorkFactory()
    store = RedisMaintenanceStore(redis_clean_url, factory)
    try:
        for _ in range(50):
            await store.get()
        assert factory.db.reads == 1
    finally:
        await store.close()


@pytest.mark.redis
async def test_redis_store_replaces_a_malformed_value(redis_clean_url: str, uow_factory: Any) -> None:
    store = RedisMaintenanceStore(redis_clean_url, uow_factory)
    client = aioredis.from_url(redis_clean_url)
    try:
        await store.set(ON)
        await client.set(REDIS_KEY, b"{not json")
        assert await store.get() == ON
        assert await store.get() == ON
    finally:
        await store.close()
        await client.aclose()


async def test_redis_store_falls_back_to_the_database_when_redis_is_down(uow_factory: Any) -> None:
    store = RedisMaintenanceStore(UNREACHABLE_REDIS, uow_factory)
    try:
        assert (await store.get()).enabled is False
        await store.set(ON)  # the database write succeeds; Redis is skipped
        assert await store.get() == ON
        assert await _database_state(uow_factory) == ON
    finally:
        await store.close()
