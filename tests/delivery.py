"""The outbox's delivery as the tests drive it: the worker's and the operator's messages through a
bus (the real ones, ``sono.entrypoints.worker.deliver`` for each claimed row)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sono.application.bus import MessageBus
from sono.application.delivery.messages import ClaimDeliveries, DeliveryStats, FailedDeliveries, RequeueDeliveries
from sono.application.events import OutboxEntry, OutboxStats
from sono.application.messages import Actor
from sono.application.tracing import NoTracer, Tracer
from sono.entrypoints.worker import deliver

WORKER = Actor.worker()


@dataclass(frozen=True, slots=True)
class Delivered:
    ok: int = 0
    retried: int = 0
    failed: int = 0
    lost: int = 0

    @property
    def total(self) -> int:
        return self.ok + self.retried + self.failed + self.lost


class Deliveries:
    def __init__(self, bus: MessageBus, tracer: Tracer | None = None) -> None:
        self._bus = bus
        self._tracer = tracer or NoTracer()

    async def claim(self, limit: int) -> list[OutboxEntry]:
        return await self._bus(ClaimDeliveries(limit), WORKER)

    async def run(self, entry: OutboxEntry) -> str:
        """Deliver one claimed row: "ok", "retry", "failed" or "lost"."""
        return await deliver(self._bus, self._tracer, entry)

    async def run_due(self, limit: int = 100) -> Delivered:
        """Claim up to ``limit`` due rows and deliver them one after the other."""
        outcomes = [await self.run(entry) for entry in await self.claim(limit)]
        return Delivered(*(outcomes.count(outcome) for outcome in ("ok", "retry", "failed", "lost")))

    async def failed(self, limit: int = 100) -> list[OutboxEntry]:
        return await self._bus(FailedDeliveries(limit), WORKER)

    async def requeue(self, ids: Sequence[int] | None) -> int:
        return await self._bus(RequeueDeliveries(ids), WORKER)

    async def stats(self) -> OutboxStats:
        return await self._bus(DeliveryStats(), WORKER)
