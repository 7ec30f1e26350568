"""Fakes of the rate limiter, the maintenance store and the spool folder for unit tests."""

from __future__ import annotations

from datetime import datetime

from sono.domain.maintenance import MaintenanceState


class FakeTemporaryFiles:
    """Spooled files by name, with the time each was last written."""

    def __init__(self) -> None:
        self.files: dict[str, datetime] = {}

    async def purge_older_than(self, cutoff: datetime) -> int:
        old = [name for name, written in self.files.items() if written < cutoff]
        for name in old:
            del self.files[name]
        return len(old)


class FakeRateLimiter:
    """Counts allowed hits per (scope, key) without expiry; refuses (without counting) at the limit.

    ``limits`` overrides the limit per scope, ``enabled=False`` allows everything (still counting),
    and ``retry_after`` is the answer when refused. Every call is recorded in ``calls``.
    """

    def __init__(
        self, *, enabled: bool = True, limits: dict[str, int] | None = None, retry_after: int | None = None
    ) -> None:
        self.enabled = enabled
        self.limits = dict(limits or {})
        self.retry_after = retry_after
        self.counts: dict[tuple[str, str], int] = {}
        self.calls: list[tuple[str, str, int, int]] = []

    async def hit(self, scope: str, key: str, limit: int, period_seconds: int) -> int | None:
        self.calls.append((scope, key, limit, period_seconds))
        count = self.counts.get((scope, key), 0) + 1
        if not self.enabled or count <= self.limits.get(scope, limit):
            self.counts[(scope, key)] = count
            return None
        return self.retry_after if self.retry_after is not None else max(1, period_seconds)

    async def peek(self, scope: str, key: str, limit: int, period_seconds: int) -> int | None:
        count = self.counts.get((scope, key), 0) + 1
        if not self.enabled or count <= self.limits.get(scope, limit):
            return None
        return self.retry_after if self.retry_after is not None else max(1, period_seconds)

    async def reset(self) -> None:
        self.counts.clear()

    async def close(self) -> None:
        return None


class FakeMaintenanceStore:
    """The maintenance state in memory; counts ``get`` and ``set`` calls."""

    def __init__(self, state: MaintenanceState | None = None) -> None:
        self.state = state if state is not None else MaintenanceState()
        self.get_calls = 0
        self.set_calls = 0

    async def get(self) -> MaintenanceState:
        self.get_calls += 1
        return self.state

    async def set(self, state: MaintenanceState) -> None:
        self.set_calls += 1
        self.state = state

    def remember(self, state: MaintenanceState) -> None:
        self.state = state
