"""Maintenance-state stores: durable in the database, cheap to read on every request.

``DatabaseMaintenanceStore`` caches the state in-process for ``cache_seconds``, so each process
re-reads the database at most about once per interval. ``RedisMaintenanceStore`` reads one small
Redis key per call (all processes see a change at once) and loads it from the database on a miss,
so the state survives restarts of Redis and of the processes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import Callable
from datetime import datetime

from redis.exceptions import RedisError

from sono.adapters.stores.redis import RedisBacked
from sono.application.uow import UnitOfWorkFactory
from sono.domain.maintenance import DEFAULT_MESSAGE, MaintenanceState

log = logging.getLogger(__name__)

REDIS_KEY = "sono:maintenance"


class DatabaseMaintenanceStore:
    """The ``MaintenanceStore`` port on the database (``uow.maintenance``) with a short local cache.

    ``set`` commits and updates this process's cache at once; other processes see the change
    within ``cache_seconds``. Concurrent readers after expiry share one refresh. If a refresh fails
    while a previous state is cached, the stale state is served (and retried after another interval).
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        cache_seconds: float = 1.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow_factory = uow_factory
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._state: MaintenanceState | None = None
        self._expires_at = 0.0
        self._generation = 0
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    async def get(self) -> MaintenanceState:
        state = self._state
        if state is not None and self._monotonic() < self._expires_at:
            return state
        async with self._lock():
            state = self._state
            if state is not None and self._monotonic() < self._expires_at:
                return state
            generation = self._generation
            try:
                fresh = await self.load()
            except Exception:
                if state is None:
                    raise
                log.warning("could not refresh the maintenance state; serving the cached one", exc_info=True)
                self._expires_at = self._monotonic() + self._cache_seconds
                return state
            if generation == self._generation:  # no set() in between
                self._remember(fresh)
            return self._state or fresh

    async def set(self, state: MaintenanceState) -> None:
        async with self._uow_factory() as uow:
            await uow.maintenance.set(state)
            await uow.commit()
        self._generation += 1
        self._remember(state)

    async def load(self) -> MaintenanceState:
        """Read the database, bypassing the cache."""
        async with self._uow_factory(read_only=True) as uow:
            return await uow.maintenance.get()

    def invalidate(self) -> None:
        """Forget the cached state (the next ``get`` reads the database)."""
        self._state = None
        self._expires_at = 0.0

    def _remember(self, state: MaintenanceState) -> None:
        self._state = state
        self._expires_at = self._monotonic() + self._cache_seconds

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock


class RedisMaintenanceStore(RedisBacked):
    """The ``MaintenanceStore`` port on Redis key ``sono:maintenance``, backed by the database.

    ``get`` reads Redis (sub-millisecond); on a miss it loads the database (through a
    ``DatabaseMaintenanceStore`` with a ``fallback_cache_seconds`` cache) and stores the state in
    Redis only if the key is still absent (so it never overwrites a newer ``set``). ``set`` commits to the
    database first, then writes Redis. The key expires after ``ttl_seconds`` (None: never), which
    bounds how long Redis can disagree with the database if it was changed without this store
    (e.g. by a process running without Redis). While Redis is unreachable the store serves the
    database through a ``DatabaseMaintenanceStore`` cache and retries Redis after ``retry_after`` seconds.
    """

    fallback = "reading the database"

    def __init__(
        self,
        redis_url: str,
        uow_factory: UnitOfWorkFactory,
        *,
        ttl_seconds: int | None = 60,
        fallback_cache_seconds: float = 1.0,
        retry_after: float = 5.0,
    ) -> None:
        super().__init__(redis_url, retry_after=retry_after)
        self._database = DatabaseMaintenanceStore(uow_factory, fallback_cache_seconds)
        self._ttl = ttl_seconds
        self._last_raw: bytes | str | None = None
        self._last_state = MaintenanceState()

    async def get(self) -> MaintenanceState:
        if self._is_down:
            return await self._database.get()
        try:
            raw = await self._client.get(REDIS_KEY)
        except (RedisError, OSError) as exc:
            self._mark_down(exc)
            return await self._database.get()
        if raw is not None:
            if raw == self._last_raw:
                return self._last_state
            try:
                state = decode_state(raw)
            except (ValueError, TypeError, KeyError):
                log.warning("malformed maintenance state in Redis; reloading it from the database")
            else:
                self._last_raw, self._last_state = raw, state
                return state
        # A miss: read the database itself (a cached copy could be older than another process's
        # set() and would be written back for everyone), then store it unless a set() got there first.
        state = await self._database.load()
        try:
            if raw is not None:
                await self._client.delete(REDIS_KEY)
            await self._client.set(REDIS_KEY, encode_state(state), ex=self._ttl, nx=True)
        except (RedisError, OSError) as exc:
            self._mark_down(exc)
        return state

    async def set(self, state: MaintenanceState) -> None:
        await self._database.set(state)
        try:
            await self._client.set(REDIS_KEY, encode_state(state), ex=self._ttl)
        except (RedisError, OSError) as exc:
            # The database holds the new state; make sure no stale copy survives if we can.
            self._mark_down(exc)
            try:
                await self._client.delete(REDIS_KEY)
            except (RedisError, OSError):
                log.warning("the maintenance state in Redis may be stale for up to %s s", self._ttl)


def encode_state(state: MaintenanceState) -> str:
    """The small JSON document stored in Redis."""
    return json.dumps(
        {
            "enabled": state.enabled,
            "message": state.message,
            "updated_at": state.updated_at.isoformat() if state.updated_at is not None else None,
            "updated_by_id": state.updated_by_id,
        },
        separators=(",", ":"),
    )


def decode_state(raw: bytes | str) -> MaintenanceState:
    data = json.loads(raw)
    updated_at = data.get("updated_at")
    updated_by_id = data.get("updated_by_id")
    message = data.get("message", DEFAULT_MESSAGE)
    if (
        not isinstance(data.get("enabled"), bool)
        or not isinstance(message, str)
        or not (updated_by_id is None or isinstance(updated_by_id, int))
    ):
        raise ValueError("malformed maintenance state")
    return MaintenanceState(
        enabled=data["enabled"],
        message=message,
        updated_at=datetime.fromisoformat(updated_at) if updated_at else None,
        updated_by_id=updated_by_id,
    )
