"""The outbox: domain events stored in the unit of work that records them, delivered later.

A handler publishes an event (``Context.publish``, or ``Outbox.publish`` in a service's own unit of
work); the outbox writes one row per (event, reaction) in that same unit of work, so an event exists
if and only if the change that recorded it committed. Workers (``sono worker``, or the loop inside
``sono serve`` on embedded defaults) claim due rows with a lease and send each through the bus
(``sono.application.delivery``, as ``Actor.worker()``): its reaction runs in a unit of work that
also completes the row, so a reaction's database effects happen exactly once; its external
effects (storage, mail) happen at least once, so reactions are idempotent. A reaction that raises is
retried with exponential backoff (``backoff``) and, after ``MAX_ATTEMPTS``, kept as failed until an
operator requeues it (``sono jobs failed`` / ``sono jobs retry``).

Reactions are methods marked ``@reacts_to(EventType)`` on handler objects registered with the bus
(``MessageBus.register``, the same call as ``@handles``).
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import typing
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, Self

from sono.application.tracing import Attribute, NoTracer, Tracer
from sono.domain.events import Event

if TYPE_CHECKING:
    from types import TracebackType

    from sono.application.ports import Clock

log = logging.getLogger(__name__)

_REACTS = "__sono_reacts_to__"
MAX_ATTEMPTS = 10
BACKOFF_CAP = timedelta(hours=1)
LEASE = timedelta(minutes=5)
ERROR_MAX = 2000
TRACE = "_trace"
"""The payload member that carries the trace of the change that recorded the event (W3C trace
context), so that delivering it continues that trace; ``decode`` reads only the event's fields."""

Reaction = Callable[[Any, Any], Awaitable[Any]]
"""A ``@reacts_to`` method: called with the event and the bus's ``Context`` (typed ``Any`` here: the
bus imports this module, not the other way round)."""


def reacts_to(event_type: type[Event]) -> Callable[[Callable[..., Awaitable[Any]]], Any]:
    """Marks a reaction method (``async def react(self, event, ctx)``) for ``MessageBus.register``."""

    def mark(method: Callable[..., Awaitable[Any]]) -> Any:
        setattr(method, _REACTS, event_type)
        return method

    return mark


def backoff(attempts: int) -> timedelta:
    """How long to wait before the next try after ``attempts`` failed ones: 2^attempts seconds,
    at most an hour."""
    if attempts >= 12:  # 2^12 s > 1 h
        return BACKOFF_CAP
    return min(timedelta(seconds=2**attempts), BACKOFF_CAP)


# ---------------------------------------------------------------------- rows and the port


@dataclass(slots=True)
class OutboxEntry:
    """One (event, reaction) to deliver."""

    event: str
    reaction: str
    payload: dict[str, Any]
    due_at: datetime
    created_at: datetime
    attempts: int = 0
    leased_until: datetime | None = None
    last_error: str | None = None
    failed_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class OutboxStats:
    queued: int
    failed: int
    oldest_due_at: datetime | None


class OutboxRepository(Protocol):
    async def add(self, entries: Sequence[OutboxEntry]) -> None: ...

    async def claim(self, now: datetime, lease_until: datetime, limit: int) -> list[OutboxEntry]:
        """Up to ``limit`` rows due at ``now`` (not failed, not leased to a live claim), oldest due
        first, leased until ``lease_until``. Two claimers never get the same row while its lease
        lasts (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises writers)."""
        ...

    async def complete(self, entry_id: int, lease: datetime) -> bool:
        """Delete the row if it is still leased with ``lease`` (False: the lease ran out and
        another claim took it)."""
        ...

    async def retry(self, entry_id: int, lease: datetime, due_at: datetime, error: str) -> bool:
        """Count a failed attempt and make the row due again at ``due_at``."""
        ...

    async def fail(self, entry_id: int, lease: datetime, now: datetime, error: str) -> bool:
        """Count a failed attempt and keep the row as failed for good (until ``requeue``)."""
        ...

    async def failed(self, limit: int) -> list[OutboxEntry]:
        """Failed rows, oldest first."""
        ...

    async def requeue(self, ids: Sequence[int] | None, now: datetime) -> int:
        """Make failed rows (those of ``ids``, or all) due at ``now`` with no attempts; how many."""
        ...

    async def stats(self) -> OutboxStats: ...


class OutboxWork(Protocol):
    """What the outbox uses of a unit of work (``sono.application.uow.UnitOfWork`` is one: the unit
    of work imports this module, not the other way round)."""

    @property
    def outbox(self) -> OutboxRepository: ...
    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    async def commit(self) -> None: ...


# ---------------------------------------------------------------------- payload codec


def encode(event: Event) -> dict[str, Any]:
    """The event's fields as JSON values (tuples as lists, datetimes in ISO 8601)."""
    return {f.name: _encode_value(getattr(event, f.name)) for f in dataclasses.fields(event)}


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_encode_value(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"an event field cannot hold {type(value).__name__}")


def decode(event_type: type[Event], payload: dict[str, Any]) -> Event:
    """The event ``encode`` gave ``payload`` for."""
    hints = typing.get_type_hints(event_type)
    values = {f.name: _decode_value(hints[f.name], payload[f.name]) for f in dataclasses.fields(event_type)}
    return event_type(**values)


def _decode_value(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if hint is datetime or (origin is not None and datetime in typing.get_args(hint) and isinstance(value, str)):
        return datetime.fromisoformat(value)
    if origin is tuple:
        args = typing.get_args(hint)
        item = args[0] if args else Any
        return tuple(_decode_value(item, v) for v in value)
    return value


# ---------------------------------------------------------------------- publishing


class Outbox:
    """The reactions to each event type, and writing an event's rows into a unit of work."""

    def __init__(self, clock: Clock, tracer: Tracer | None = None) -> None:
        self._clock = clock
        self.tracer: Tracer = tracer or NoTracer()
        self._reactions: dict[type[Event], dict[str, Reaction]] = {}
        self._by_name: dict[tuple[str, str], tuple[type[Event], Reaction]] = {}

    def register(self, *handler_objects: object) -> None:
        """Add every ``@reacts_to`` method of the given objects."""
        for obj in handler_objects:
            for _, method in inspect.getmembers(obj, inspect.ismethod):
                event_type = getattr(method, _REACTS, None)
                if event_type is None:
                    continue
                name = f"{type(obj).__name__}.{method.__name__}"
                if (event_type.name(), name) in self._by_name:
                    raise ValueError(f"{name} already reacts to {event_type.name()}")
                self._reactions.setdefault(event_type, {})[name] = method
                self._by_name[event_type.name(), name] = (event_type, method)

    @property
    def clock(self) -> Clock:
        return self._clock

    def reactions_to(self, event_type: type[Event]) -> list[str]:
        return sorted(self._reactions.get(event_type, {}))

    def reaction(self, event: str, reaction: str) -> tuple[type[Event], Reaction] | None:
        return self._by_name.get((event, reaction))

    async def publish(self, uow: OutboxWork, *events: Event) -> None:
        """Store ``events`` in ``uow`` (saved if and only if it commits), one row per reaction."""
        now = self._clock.now()
        trace = self.tracer.carrier()
        entries = [
            OutboxEntry(event.name(), name, encode(event) | ({TRACE: trace} if trace else {}), now, now)
            for event in events
            for name in self.reactions_to(type(event))
        ]
        if entries:
            await uow.outbox.add(entries)


# ---------------------------------------------------------------------- the job engine


class JobQueue(Protocol):
    """The job engine's side the core sees: told when events are waiting, so that a worker
    delivers them promptly instead of at its next poll. Delivery never depends on it: the rows are
    in the outbox, and workers also look for due rows on a schedule."""

    async def deliveries_due(self) -> None: ...


class NoJobQueue:
    """Embedded defaults: the in-process worker polls the outbox on its own."""

    async def deliveries_due(self) -> None:
        return None


# ---------------------------------------------------------------------- delivery


class LeaseLost(Exception):
    """A claimed row's lease ran out and another claim took it: what its reaction did is rolled
    back (the other claim delivers it)."""


class DeliveryMetrics(Protocol):
    def delivery(self, reaction: str, outcome: str) -> None: ...


def delivery_span(tracer: Tracer, entry: OutboxEntry) -> AbstractContextManager[None]:
    """The span a worker delivers a claimed row in: in the trace of the change that recorded its
    event (a new trace without one)."""
    attributes: dict[str, Attribute] = {"sono.event": entry.event, "sono.attempt": entry.attempts + 1}
    return tracer.continued(entry.payload.get(TRACE), f"deliver {entry.reaction}", attributes)


def failure_text(error: BaseException) -> str:
    """How a failed reaction's error is kept on its row."""
    return f"{type(error).__name__}: {error}"[:ERROR_MAX]


async def claim_due(uow: OutboxWork, now: datetime, lease: timedelta, limit: int) -> list[OutboxEntry]:
    """Lease up to ``limit`` due rows until ``now + lease`` (in ``uow``, which the caller commits)."""
    return await uow.outbox.claim(now, now + lease, limit)


async def record_failure(uow: OutboxWork, entry: OutboxEntry, error: str, now: datetime, max_attempts: int) -> str:
    """A claimed row's reaction failed with ``error``: due again after a back-off, or given up after
    ``max_attempts``. "retry", "failed", or "lost" (its lease ran out and another claim took it)."""
    assert entry.id is not None and entry.leased_until is not None
    attempts = entry.attempts + 1
    final = attempts >= max_attempts
    if final:
        kept = await uow.outbox.fail(entry.id, entry.leased_until, now, error)
    else:
        kept = await uow.outbox.retry(entry.id, entry.leased_until, now + backoff(attempts), error)
    if not kept:
        return "lost"
    return "failed" if final else "retry"
