"""The maintenance-state store: durable in the database, cheap to read on every request.

The database is the only truth. Each process caches the state for about a second, so every
process agrees within that interval of any change, whatever happened to other services. (An
earlier version kept a copy in Redis for every process to read: a change made while Redis was
unreachable left the old copy there, and once Redis was back that copy overrode the database.)
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable

from sono.application.metrics import Metrics, NoMetrics
from sono.application.uow import UnitOfWorkFactory
from sono.domain.maintenance import MaintenanceState

log = logging.getLogger(__name__)

STALE_REFRESH_TIMEOUT = 1.0
"""Seconds a refresh may take while a previous state is cached; then the cached one is served."""


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
        metrics: Metrics | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._metrics = metrics or NoMetrics()
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._state: MaintenanceState | None = None
        self._expires_at = 0.0
        self._generation = 0
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    async def get(self) -> MaintenanceState:
        state = self._state
        if state is not None and self._monotonic() < self._expires_at:
            self._metrics.cache_lookup("maintenance", True)
            return state
        async with self._lock():
            state = self._state
            if state is not None and self._monotonic() < self._expires_at:
                self._metrics.cache_lookup("maintenance", True)  # another caller refreshed it meanwhile
                return state
            self._metrics.cache_lookup("maintenance", False)
            generation = self._generation
            try:
                if state is None:
                    fresh = await self.load()
                else:  # a stale state to fall back on: a database that hangs costs a request little
                    async with asyncio.timeout(STALE_REFRESH_TIMEOUT):
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
        self.remember(state)

    def remember(self, state: MaintenanceState) -> None:
        """A state committed through a unit of work of this process: serve it at once."""
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
