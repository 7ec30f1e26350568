"""The outbox repository's contract on the fakes, SQLite and PostgreSQL: claims lease rows, two
claimers never get the same row while its lease lasts, a dead worker's lease runs out and another
delivers, failures are kept and requeued."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from sono.application.bus import Context, MessageBus
from sono.application.common import audit
from sono.application.delivery.handlers import DeliveryHandlers
from sono.application.events import Outbox, OutboxEntry, reacts_to
from sono.application.uow import UnitOfWorkFactory
from sono.domain.events import Event
from sono.domain.gdpr import AuditEvent, AuditFilter
from tests.delivery import Deliveries
from tests.fakes.security import FakeClock

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
LEASE = NOW + timedelta(minutes=5)


def entry(n: int, *, due_at: datetime = NOW) -> OutboxEntry:
    return OutboxEntry(f"Event{n}", "Reactions.react", {"n": n, "at": NOW.isoformat()}, due_at, NOW)


async def add(uows: UnitOfWorkFactory, *entries: OutboxEntry) -> None:
    async with uows() as uow:
        await uow.outbox.add(entries)
        await uow.commit()


async def claim(uows: UnitOfWorkFactory, now: datetime, limit: int = 100) -> list[OutboxEntry]:
    async with uows() as uow:
        claimed = await uow.outbox.claim(now, now + timedelta(minutes=5), limit)
        await uow.commit()
    return claimed


async def test_claim_leases_due_rows_oldest_first(uows: UnitOfWorkFactory) -> None:
    await add(uows, entry(2, due_at=NOW - timedelta(seconds=1)), entry(1, due_at=NOW - timedelta(seconds=2)))
    await add(uows, entry(3, due_at=NOW + timedelta(seconds=1)))

    claimed = await claim(uows, NOW)

    assert [e.event for e in claimed] == ["Event1", "Event2"]
    assert all(e.leased_until == LEASE and e.attempts == 0 and e.id for e in claimed)
    assert claimed[0].payload == {"n": 1, "at": NOW.isoformat()}
    assert await claim(uows, NOW) == []  # leased
    async with uows() as uow:
        assert await uow.outbox.complete(claimed[0].id, LEASE)  # type: ignore[arg-type]
        assert not await uow.outbox.complete(claimed[0].id, LEASE)  # type: ignore[arg-type]
        await uow.commit()
    later = NOW + timedelta(minutes=6)
    assert [e.event for e in await claim(uows, later)] == ["Event2", "Event3"]


async def test_an_expired_lease_is_taken_over_and_the_old_one_no_longer_counts(uows: UnitOfWorkFactory) -> None:
    await add(uows, entry(1))
    [first] = await claim(uows, NOW)
    later = NOW + timedelta(minutes=6)
    [second] = await claim(uows, later)
    assert second.id == first.id and second.leased_until == later + timedelta(minutes=5)
    async with uows() as uow:
        assert first.id is not None and second.leased_until is not None
        assert not await uow.outbox.retry(first.id, LEASE, later, "stale")
        assert not await uow.outbox.fail(first.id, LEASE, later, "stale")
        assert await uow.outbox.complete(second.id, second.leased_until)  # type: ignore[arg-type]
        await uow.commit()
    async with uows(read_only=True) as uow:
        stats = await uow.outbox.stats()
    assert (stats.queued, stats.failed, stats.oldest_due_at) == (0, 0, None)


async def test_retry_fail_and_requeue(uows: UnitOfWorkFactory) -> None:
    await add(uows, entry(1), entry(2))
    one, two = await claim(uows, NOW)
    assert one.id is not None and two.id is not None
    async with uows() as uow:
        assert await uow.outbox.retry(one.id, LEASE, NOW + timedelta(seconds=2), "boom")
        assert await uow.outbox.fail(two.id, LEASE, NOW, "x" * 3000)
        await uow.commit()
    assert await claim(uows, NOW + timedelta(seconds=1)) == []
    [again] = await claim(uows, NOW + timedelta(seconds=2))
    assert (again.id, again.attempts, again.last_error) == (one.id, 1, "boom")

    async with uows(read_only=True) as uow:
        [failed] = await uow.outbox.failed(10)
        stats = await uow.outbox.stats()
    assert (failed.id, failed.attempts, failed.failed_at, failed.last_error) == (two.id, 1, NOW, "x" * 3000)
    assert (stats.queued, stats.failed, stats.oldest_due_at) == (1, 1, NOW + timedelta(seconds=2))

    async with uows() as uow:
        assert await uow.outbox.requeue([one.id], NOW) == 0  # not failed
        assert await uow.outbox.requeue(None, NOW + timedelta(hours=1)) == 1
        await uow.commit()
    retried, requeued = await claim(uows, NOW + timedelta(hours=1))  # the retried one (due first) too
    assert (requeued.id, requeued.attempts, requeued.failed_at) == (two.id, 0, None)
    assert (retried.id, retried.attempts) == (one.id, 1)


async def test_concurrent_claimers_never_get_the_same_row(uows: UnitOfWorkFactory) -> None:
    await add(uows, *(entry(n) for n in range(30)))

    batches = await asyncio.gather(*(claim(uows, NOW, 4) for _ in range(10)))

    ids = [e.id for batch in batches for e in batch]
    assert len(ids) == len(set(ids)) == 30


@pytest.mark.postgres
async def test_a_claimer_skips_the_rows_another_is_claiming(postgres_url: str) -> None:
    from sono.adapters.sqlalchemy import migrate
    from sono.adapters.sqlalchemy.engine import create_engine
    from sono.adapters.sqlalchemy.uow import SqlUnitOfWorkFactory

    await migrate.upgrade(postgres_url)
    engine = create_engine(postgres_url)
    try:
        uows = SqlUnitOfWorkFactory(engine)
        await add(uows, *(entry(n) for n in range(5)))
        async with uows() as first:
            mine = await first.outbox.claim(NOW, LEASE, 2)  # not committed yet: the rows are locked
            theirs = await asyncio.wait_for(claim(uows, NOW), 10)  # skipped, not waited for
            await first.commit()
        assert {e.event for e in mine} == {"Event0", "Event1"}
        assert {e.event for e in theirs} == {"Event2", "Event3", "Event4"}
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- delivery end to end


@dataclass(frozen=True, slots=True)
class Pinged(Event):
    text: str


@dataclass
class Pings:
    clock: FakeClock
    runs: list[str] = field(default_factory=list)

    @reacts_to(Pinged)
    async def record(self, event: Pinged, ctx: Context) -> None:
        self.runs.append(event.text)
        await audit(ctx.uow, self.clock, AuditEvent.ADMIN_ACTION, action=event.text)


async def test_a_killed_workers_row_is_delivered_once_by_another(uows: UnitOfWorkFactory) -> None:
    clock = FakeClock(NOW)
    outbox = Outbox(clock)
    bus = MessageBus(uows, outbox=outbox)
    pings = Pings(clock)
    bus.register(pings, DeliveryHandlers(clock, outbox))
    async with uows() as uow:
        await outbox.publish(uow, Pinged("hello"))
        await uow.commit()
    dead, alive = Deliveries(bus), Deliveries(bus)

    [held] = await dead.claim(10)  # the first worker is killed holding the row
    assert (await alive.run_due(10)).total == 0
    clock.advance(5 * 60 + 1)
    assert (await alive.run_due(10)).ok == 1
    assert await dead.run(held) == "lost"  # had it come back, its work would not count

    async with uows(read_only=True) as uow:
        entries = (await uow.audit.search(AuditFilter(action="hello"), skip=0, limit=10)).items
        assert (await uow.outbox.stats()).queued == 0
    assert len(entries) == 1
