"""Ports every feature shares: time, rate limits, readiness probes and the entrypoints'
renditions of kept answers. Each feature keeps its own
ports (repositories, services) in its package's ``ports`` module; ``sono.application.uow`` gathers
the repositories into the unit of work."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime
from typing import Any, Protocol


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


class Renditions(Protocol):
    """What an entrypoint made of an answer that its use case keeps and hands out again while the
    data is unchanged (the JSON API's structs of the public audio list): kept with that answer and
    given back only for the very same answer object. A changed answer is a new object, so its
    rendition is made anew; the answers' own caches decide when they change."""

    def get(self, key: Hashable, source: object) -> Any | None:
        """The rendition kept under ``key`` if it was made of ``source`` itself, else None."""

    def put(self, key: Hashable, source: object, rendition: Any) -> None:
        """Keep ``rendition``, made of ``source``, under ``key``."""
