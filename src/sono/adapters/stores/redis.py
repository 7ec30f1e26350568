"""What the Redis-backed stores share: a fail-fast connection pool, readiness, shutdown, and a
short "Redis is down" window during which each store uses its own fallback."""

from __future__ import annotations

import logging
import time

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

log = logging.getLogger(__name__)


def redis_connection_pool(redis_url: str, *, timeout: float = 2.0) -> aioredis.ConnectionPool:
    """A connection pool that fails fast (short timeouts, one immediate retry) when Redis is down."""
    return aioredis.ConnectionPool.from_url(
        redis_url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
    )


class RedisBacked:
    """Base of the Redis stores. ``fallback`` says what the store does while Redis is down."""

    fallback = "its fallback"

    def __init__(self, redis_url: str, *, retry_after: float) -> None:
        self._pool = redis_connection_pool(redis_url)
        self._client = aioredis.Redis(connection_pool=self._pool)
        self._retry_after = retry_after
        self._down_until = 0.0

    @property
    def _is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _mark_down(self, exc: BaseException) -> None:
        self._down_until = time.monotonic() + self._retry_after
        log.warning(
            "%s: Redis unavailable (%s); %s for %.0f s",
            type(self).__name__,
            type(exc).__name__,
            self.fallback,
            self._retry_after,
        )

    async def ping(self) -> None:
        """Raise when Redis is unreachable (readiness)."""
        await self._client.ping()

    check = ping

    async def close(self) -> None:
        await self._client.aclose()
        await self._pool.aclose()
