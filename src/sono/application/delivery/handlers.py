"""The outbox's delivery: each transaction a message in the bus's unit of work."""

from __future__ import annotations

import logging
from datetime import timedelta

from sono.application.bus import Context, ProcessContext, handles
from sono.application.delivery.messages import (
    ClaimDeliveries,
    DeliverEvent,
    DeliveryStats,
    FailedDeliveries,
    RecordDeliveryFailure,
    RequeueDeliveries,
    RunReaction,
)
from sono.application.events import (
    LEASE,
    MAX_ATTEMPTS,
    DeliveryMetrics,
    LeaseLost,
    Outbox,
    OutboxEntry,
    OutboxStats,
    claim_due,
    decode,
    failure_text,
    record_failure,
)
from sono.application.ports import Clock

log = logging.getLogger("sono.application.events")


class DeliveryHandlers:
    def __init__(
        self,
        clock: Clock,
        outbox: Outbox,
        *,
        lease: timedelta = LEASE,
        max_attempts: int = MAX_ATTEMPTS,
        metrics: DeliveryMetrics | None = None,
    ) -> None:
        self._clock = clock
        self._outbox = outbox
        self._lease = lease
        self._max_attempts = max_attempts
        self._metrics = metrics

    @handles(ClaimDeliveries)
    async def claim(self, command: ClaimDeliveries, ctx: Context) -> list[OutboxEntry]:
        return await claim_due(ctx.uow, self._clock.now(), self._lease, command.limit)

    @handles(DeliverEvent)
    async def deliver(self, process: DeliverEvent, ctx: ProcessContext) -> str:
        entry = process.entry
        try:
            await ctx.send(RunReaction(entry))
            outcome = "ok"
        except LeaseLost:
            outcome = "lost"
        except Exception as error:
            final = entry.attempts + 1 >= self._max_attempts
            log.warning(
                "%s for %s failed (attempt %d%s)",
                entry.reaction,
                entry.event,
                entry.attempts + 1,
                ", giving up" if final else "",
                exc_info=error,
            )
            outcome = await ctx.send(RecordDeliveryFailure(entry, failure_text(error)))
        if self._metrics is not None:
            self._metrics.delivery(entry.reaction, outcome)
        return outcome

    @handles(RunReaction)
    async def run_reaction(self, command: RunReaction, ctx: Context) -> None:
        entry = command.entry
        assert entry.id is not None and entry.leased_until is not None
        found = self._outbox.reaction(entry.event, entry.reaction)
        if found is None:
            raise LookupError(f"no reaction {entry.reaction} to {entry.event}")
        event_type, reaction = found
        await reaction(decode(event_type, entry.payload), ctx)
        if not await ctx.uow.outbox.complete(entry.id, entry.leased_until):
            raise LeaseLost(entry.reaction)

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
