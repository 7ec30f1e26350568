"""What the service counts for its operators: the ``Metrics`` port, a no-op default, and the
instrumentation of use cases.

Every layer reports through this one port (the use cases, the adapters that see the database
pool or a cache, and the entrypoints that see requests); the adapter behind it decides what to do
with the numbers (Prometheus: ``sono.adapters.metrics.prometheus``). Labels are bounded by
construction: use-case names, route templates, error class names and fixed reasons, never a user
id, a raw path or a value a client chose.

There is no single dispatch seam for the use cases yet, so ``instrumented`` wraps each service the
composition root hands out: every coroutine method of it is timed and counted under
``<service>.<method>``, and what it raises is counted by class name.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar, cast

T = TypeVar("T")

UNMATCHED_ROUTE = "<unmatched>"
"""The route label of a request no route matched (never its raw path)."""


class Metrics(Protocol):
    """What is counted. The adapter must be cheap: these are called on hot paths."""

    enabled: bool
    """False for the no-op default: callers may skip preparing what they would report."""

    # the use cases
    def use_case(self, name: str, seconds: float, error: str | None) -> None:
        """A use case ``name`` ran for ``seconds``; ``error`` is the class name of what it raised."""

    # caches
    def cache_lookup(self, cache: str, hit: bool) -> None: ...
    def cache_size(self, cache: str, entries: int, size_bytes: int) -> None:
        """What ``cache`` holds now (in this process)."""

    # the database pool (``pool`` names it)
    def pool_checkout(self, pool: str, delta: int, overflow: int) -> None:
        """A connection was checked out (+1) or in (-1); ``overflow``: connections beyond the pool's size."""

    def pool_waiting(self, pool: str, delta: int) -> None:
        """A caller started (+1) or stopped (-1) waiting for a connection."""

    def pool_timeout(self, pool: str) -> None:
        """A caller gave up waiting for a connection."""

    # the outbox of domain events
    def delivery(self, reaction: str, outcome: str) -> None:
        """A reaction was delivered: ``outcome`` is ok, retry, failed or lost (another claim)."""

    def outbox_state(self, queued: int, failed: int, oldest_age_seconds: float) -> None:
        """Rows waiting, rows failed for good, and how long the oldest waiting one has been due."""

    # the edges
    def rate_limited(self, route: str) -> None: ...
    def login_failed(self, route: str, reason: str) -> None: ...
    def upload_received(self, route: str, size: int) -> None: ...
    def upload_refused(self, route: str, reason: str) -> None: ...
    def media_sent(self, kind: str, size: int) -> None:
        """``size`` bytes of stored media sent (``kind``: stream, download, cover_art)."""

    def http_started(self) -> None: ...
    def http_finished(self, route: str, method: str, status: int, seconds: float, received: int, sent: int) -> None:
        """A request ended: its route template, method, status, duration and body bytes each way."""

    def exposition(self) -> tuple[bytes, str]:
        """The current values as the scrape answer: its body and content type."""


class NoMetrics:
    """Counts nothing: the default when metrics are off, and in unit tests."""

    enabled = False

    def use_case(self, name: str, seconds: float, error: str | None) -> None:
        pass

    def cache_lookup(self, cache: str, hit: bool) -> None:
        pass

    def cache_size(self, cache: str, entries: int, size_bytes: int) -> None:
        pass

    def pool_checkout(self, pool: str, delta: int, overflow: int) -> None:
        pass

    def pool_waiting(self, pool: str, delta: int) -> None:
        pass

    def pool_timeout(self, pool: str) -> None:
        pass

    def rate_limited(self, route: str) -> None:
        pass

    def login_failed(self, route: str, reason: str) -> None:
        pass

    def upload_received(self, route: str, size: int) -> None:
        pass

    def upload_refused(self, route: str, reason: str) -> None:
        pass

    def media_sent(self, kind: str, size: int) -> None:
        pass

    def delivery(self, reaction: str, outcome: str) -> None:
        pass

    def outbox_state(self, queued: int, failed: int, oldest_age_seconds: float) -> None:
        pass

    def http_started(self) -> None:
        pass

    def http_finished(self, route: str, method: str, status: int, seconds: float, received: int, sent: int) -> None:
        pass

    def exposition(self) -> tuple[bytes, str]:
        return b"", "text/plain; charset=utf-8"


def instrumented(service: T, name: str, metrics: Metrics) -> T:
    """``service`` with every public coroutine method timed and counted as ``<name>.<method>``;
    ``service`` itself when metrics are off."""
    if not metrics.enabled:
        return service
    return cast(T, _Instrumented(service, name, metrics))


class _Instrumented:
    """A stand-in for a service: its coroutine methods are wrapped (once per stand-in), everything
    else is the service's own."""

    def __init__(self, service: object, name: str, metrics: Metrics) -> None:
        self._service = service
        self._name = name
        self._metrics = metrics

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(self._service, attribute)
        if attribute.startswith("_") or not inspect.iscoroutinefunction(value):
            return value
        wrapped = _timed(value, f"{self._name}.{attribute}", self._metrics)
        setattr(self, attribute, wrapped)  # the next lookup finds it without __getattr__
        return wrapped


def _timed(method: Callable[..., Awaitable[Any]], name: str, metrics: Metrics) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def call(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            result = await method(*args, **kwargs)
        except Exception as error:
            metrics.use_case(name, time.perf_counter() - started, type(error).__name__)
            raise
        metrics.use_case(name, time.perf_counter() - started, None)
        return result

    return call


class MeteredMessages:
    """The message bus's middleware: every message timed and counted under its name
    (``announcements.CreateAnnouncement``), what it raised counted by class name, refusals of its
    audience included. Features on the bus are counted here, once, not wrapped service by service."""

    def __init__(self, metrics: Metrics, *, clock: Callable[[], float] = time.perf_counter) -> None:
        self._metrics = metrics
        self._clock = clock

    async def __call__(self, message: Any, actor: Any, call: Callable[[], Awaitable[Any]]) -> Any:
        started = self._clock()
        error: str | None = None
        try:
            return await call()
        except Exception as exc:
            error = type(exc).__name__
            raise
        finally:
            self._metrics.use_case(message.name(), self._clock() - started, error)
