"""The in-process rate limiter (moving window), kept apart from the Redis one so that a process
without Redis never loads a Redis client.

``hit`` counts one request and answers None when it is allowed, else the whole seconds (>= 1)
until a retry can succeed. A request that is refused is not counted.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class MemoryRateLimiter:
    """Per-process moving windows (one deque of hit times per scope, key and limit).

    ``hit`` never awaits, so it is atomic within the event loop. Idle windows are swept every
    ``sweep_interval`` seconds, so memory stays bounded by the keys active in the last period.
    """

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic, sweep_interval: float = 60.0) -> None:
        self._monotonic = monotonic
        self._sweep_interval = sweep_interval
        self._windows: dict[tuple[str, str, int, int], deque[float]] = {}
        self._next_sweep = monotonic() + sweep_interval

    async def hit(self, scope: str, key: str, limit: int, period_seconds: int) -> int | None:
        return self.hit_now(scope, key, limit, period_seconds)

    async def peek(self, scope: str, key: str, limit: int, period_seconds: int) -> int | None:
        return self.hit_now(scope, key, limit, period_seconds, count=False)

    def hit_now(self, scope: str, key: str, limit: int, period_seconds: int, *, count: bool = True) -> int | None:
        """``hit`` without the coroutine (``peek`` with ``count=False``)."""
        now = self._monotonic()
        if now >= self._next_sweep:
            self._sweep(now)
        if limit < 1:
            return max(1, period_seconds)
        window_key = (scope, key, limit, period_seconds)
        window = self._windows.get(window_key)
        if window is None:
            if not count:
                return None
            window = self._windows[window_key] = deque()
        cutoff = now - period_seconds
        while window and window[0] <= cutoff:
            window.popleft()
        if len(window) < limit:
            if count:
                window.append(now)
            return None
        return max(1, math.ceil(window[0] + period_seconds - now))

    async def reset(self) -> None:
        self._windows.clear()

    async def close(self) -> None:
        self._windows.clear()

    def _sweep(self, now: float) -> None:
        stale = [k for k, w in self._windows.items() if not w or w[-1] <= now - k[3]]
        for k in stale:
            del self._windows[k]
        self._next_sweep = now + self._sweep_interval
