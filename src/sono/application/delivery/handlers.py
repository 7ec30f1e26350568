"""The outbox's delivery transactions, in the bus's unit of work."""

from __future__ import annotations

from datetime import timedelta

from sono.application.bus import Context, handles
from sono.application.delivery.messages import (
    ClaimDeliveries,
    DeliveryStats,
    FailedDeliveries,
    RecordDeliveryFailure,
    RequeueDeliveries,
)
from sono.application.events import LEASE, MAX_ATTEMPTS, OutboxEntry, OutboxStats, claim_due, record_failure
from sono.application.ports import Clock


class DeliveryHandlers:
    def __init__(self, clock: Clock, *, lease: timedelta = LEASE, max_attempts: int = MAX_ATTEMPTS) -> None:
        self._clock = clock
        self._lease = lease
        self._max_attempts = max_attempts

    @handles(ClaimDeliveries)
    async def claim(self, command: ClaimDeliveries, ctx: Context) -> list[OutboxEntry]:
        return await claim_due(ctx.uow, self._clock.now(), self._lease, command.limit)

    @handles(RecordDeliveryFailure)
    async def record_failure(self, command: RecordDeliveryFailure, ctx: Context) -> str:
        return await record_failure(ctx.uow, command.entry, command.error, self._clock.now(), self._max_attempts)

    @handles(DeliveryStats)
    async def stats(self, query: DeliveryStats, ctx: Context) -> OutboxStats:
        return await ctx.uow.outbox.stats()

    @handles(FailedDeliveries)
    async def failed(self, query: FailedDeliveries, ctx: Context) -> list[OutboxEntry]:
        return await ctx.uow.outbox.failed(query.limit)

    @handles(RequeueDeliveries)
    async def requeue(self, command: RequeueDeliveries, ctx: Context) -> int:
        return await ctx.uow.outbox.requeue(command.ids, self._clock.now())
