"""What the worker and the operator may ask of the outbox's delivery. Rows run their reactions
through ``MessageBus.deliver`` (the bus's own entry for reactions); these messages are the
transactions around it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from sono.application.events import OutboxEntry, OutboxStats
from sono.application.messages import Audience, Command, Query


@dataclass(frozen=True, slots=True)
class ClaimDeliveries(Command[list[OutboxEntry]]):
    """Lease up to ``limit`` due rows (oldest due first) to the sender: while its lease lasts, no
    other claim gets a row."""

    audience: ClassVar[Audience] = Audience.ADMIN
    limit: int


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
