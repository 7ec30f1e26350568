"""Rate limiters (moving window): in-process, and Redis-backed for limits shared by every process.

``hit`` counts one request and answers None when it is allowed, else the whole seconds (>= 1)
until a retry can succeed. A request that is refused is not counted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError

from sono.adapters.stores.process_rate_limit import MemoryRateLimiter
from sono.adapters.stores.redis import RedisBacked

__all__ = ["KEY_PREFIX", "MemoryRateLimiter", "RedisRateLimiter"]

KEY_PREFIX = "sono:rl"


class RedisRateLimiter(RedisBacked):
    """Moving windows in Redis (``limits``' atomic Lua scripts), shared by every process.

    Keys are ``sono:rl:LIMITER/<scope>/<key>/<limit>/1/second``, expiring after their period. When
    Redis cannot be reached the limiter falls back to per-process windows for ``retry_after``
    seconds (and logs it) instead of failing the requests.
    """

    fallback = "using per-process limits"

    def __init__(
        self, redis_url: str, *, retry_after: float = 5.0, wall_clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(redis_url, retry_after=retry_after)
        self._wall_clock = wall_clock  # the windows are in wall-clock time, as ``limits`` keeps them
        # The storage talks through our pool; the URI is only parsed by ``limits``.
        self._storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            key_prefix=KEY_PREFIX,
            connection_pool=self._pool,  # type: ignore[arg-type]  # passed on to redis.asyncio.Redis
        )
        self._strategy = MovingWindowRateLimiter(self._storage)
        self._items: dict[tuple[int, int], RateLimitItem] = {}
        self._fallback = MemoryRateLimiter()

    async def hit(self, scope: str, key: str, limit: int, period_seconds: int) -> int | None:
        if limit < 1:
            return max(1, period_seconds)
        if self._is_down:
            return self._fallback.hit_now(scope, key, limit, period_seconds)
        item = self._item(limit, period_seconds)
        try:
            if await self._strategy.hit(item, scope, key):
                return None
            stats = await self._strategy.get_window_stats(item, scope, key)
        except (RedisError, OSError) as exc:
            self._mark_down(exc)
            return self._fallback.hit_now(scope, key, limit, period_seconds)
        if stats.remaining > 0:  # the window moved on between the two calls
            return 1
        return min(period_seconds, max(1, math.ceil(stats.reset_time - self._wall_clock())))

    async def peek(self, scope: str, key: str, limit: int, period_seconds: int) -> int | None:
        if limit < 1:
            return max(1, period_seconds)
        if self._is_down:
            return self._fallback.hit_now(scope, key, limit, period_seconds, count=False)
        item = self._item(limit, period_seconds)
        try:
            if await self._strategy.test(item, scope, key):
                return None
            stats = await self._strategy.get_window_stats(item, scope, key)
        except (RedisError, OSError) as exc:
            self._mark_down(exc)
            return self._fallback.hit_now(scope, key, limit, period_seconds, count=False)
        if stats.remaining > 0:
            return None
        return min(period_seconds, max(1, math.ceil(stats.reset_time - self._wall_clock())))

    async def reset(self) -> None:
        """Delete Sono's rate-limit keys (SCAN by prefix; other data in the database is kept)."""
        await self._fallback.reset()
        batch: list[bytes] = []
        async for name in self._client.scan_iter(match=f"{KEY_PREFIX}:*", count=1000):
            batch.append(name)
            if len(batch) >= 1000:
                await self._client.unlink(*batch)
                batch.clear()
        if batch:
            await self._client.unlink(*batch)

    def _item(self, limit: int, period_seconds: int) -> RateLimitItem:
        item = self._items.get((limit, period_seconds))
        if item is None:
            item = self._items[(limit, period_seconds)] = RateLimitItemPerSecond(limit, period_seconds)
        return item
