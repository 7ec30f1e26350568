"""Ports every feature shares: time, rate limits and readiness probes. Each feature keeps its own
ports (repositories, services) in its package's ``ports`` module; ``sono.application.uow`` gathers
the repositories into the unit of work."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC datetime, microseconds truncated."""

    def monotonic(self) -> float: ...
    async def sleep(self, seconds: float) -> None: ...


class RateLimiter(Protocol):
    async def hit(self, scope: str, key: str, limit: int, period_seconds: int) -> int | None:
        """Count one request of ``key`` (client IP) against ``limit`` per ``period_seconds`` in
        ``scope`` (the endpoint). None when allowed, else seconds until a retry can succeed."""

    async def peek(self, scope: str, key: str, limit: int, period_seconds: int) -> int | None:
        """What ``hit`` would answer now, without counting anything (a limit on failures is
        checked before the attempt, and only a failure is counted)."""

    async def reset(self) -> None:
        """Forget every counter (tests and operators)."""


class TemporaryFiles(Protocol):
    """The folder requests spool their uploads in. A request removes its own file; a process that
    dies mid-request leaves it behind."""

    async def purge_older_than(self, cutoff: datetime) -> int:
        """Remove the files last written before ``cutoff``; how many were removed."""


class HealthCheck(Protocol):
    """A backing service's readiness probe. ``essential``: without it the process cannot serve
    (the database), so readiness fails; otherwise the API keeps serving with that part degraded
    (rate limits fall back, charts answer 503, ...)."""

    name: str
    essential: bool

    async def check(self) -> None: ...
