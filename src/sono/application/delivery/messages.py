"""What the worker and the operator may ask of the outbox's delivery: claiming due rows, delivering
a claimed one (``DeliverEvent``: its reaction and the row's completion in one unit of work, or the
failure recorded), and the operator's view."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from sono.application.events import OutboxEntry, OutboxStats
from sono.application.messages import Audience, Command, Process, Query


@dataclass(frozen=True, slots=True)
class ClaimDeliveries(Command[list[OutboxEntry]]):
    """Lease up to ``limit`` due rows (oldest due first) to the sender: while its lease lasts, no
    other claim gets a row."""

    audience: ClassVar[Audience] = Audience.ADMIN
    limit: int


@dataclass(frozen=True, slots=True)
class DeliverEvent(Process[str]):
    """Deliver a claimed row: run its reaction and complete the row (``RunReaction``), or, when the
    reaction raises, record the failure (``RecordDeliveryFailure``). "ok", "retry", "failed", or
    "lost" when the lease ran out and another claim took the row (nothing it did is kept). The
    sender opens the delivery's span first (``sono.application.events.delivery_span``)."""

    audience: ClassVar[Audience] = Audience.ADMIN
    entry: OutboxEntry


@dataclass(frozen=True, slots=True)
class RunReaction(Command[None]):
    """A claimed row's reaction, in a unit of work that also completes the row: its database
    effects happen once. Raises ``LeaseLost`` (rolling it all back) when the lease ran out and
    another claim took the row, and what the reaction raised."""

    audience: ClassVar[Audience] = Audience.ADMIN
    entry: OutboxEntry


@dataclass(frozen=True, slots=True)
class RecordDeliveryFailure(Command[str]):
    """A claimed row's reaction raised ``error``: try again later with back-off, or give up after
    the last attempt. "retry", "failed", or "lost" when the lease ran out and another claim took
    the row (nothing changed)."""

    audience: ClassVar[Audience] = Audience.ADMIN
    entry: OutboxEntry
    error: str


@dataclass(frozen=True, slots=True)
class DeliveryStats(Query[OutboxStats]):
    """How many rows wait, how many failed for good, and since when the oldest is due."""

    audience: ClassVar[Audience] = Audience.ADMIN


@dataclass(frozen=True, slots=True)
class FailedDeliveries(Query[list[OutboxEntry]]):
    """Rows given up on, most recent first."""

    audience: ClassVar[Audience] = Audience.ADMIN
    limit: int = 100


@dataclass(frozen=True, slots=True)
class RequeueDeliveries(Command[int]):
    """Make failed rows due again (``ids``, or every one with None): how many."""

    audience: ClassVar[Audience] = Audience.ADMIN
    ids: Sequence[int] | None = None
