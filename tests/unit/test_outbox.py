"""Domain events in the outbox: stored with the change that recorded them (never without it),
delivered by workers at least once, retried with backoff, kept as failed after too many tries, and
requeued by an operator."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest

from sono.application.accounts.messages import SetProfilePicture
from sono.application.bus import Context, MessageBus, Traced, handles
from sono.application.common import audit
from sono.application.delivery.handlers import DeliveryHandlers
from sono.application.delivery.messages import ClaimDeliveries, DeliverEvent, RunReaction
from sono.application.events import (
    MAX_ATTEMPTS,
    TRACE,
    Outbox,
    backoff,
    decode,
    encode,
    reacts_to,
)
from sono.application.messages import Actor, Audience, Command, Query, Via
from sono.domain.errors import NotFound, ServiceUnavailable
from sono.domain.events import Event, ObjectsReleased
from sono.domain.gdpr import AuditEvent
from tests.delivery import Deliveries
from tests.fakes.security import FakeClock
from tests.fakes.uow import FakeUnitOfWorkFactory
from tests.unit.conftest import World

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Noted(Event):
    text: str
    at: datetime
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Note(Command[None]):
    audience: ClassVar[Audience] = Audience.ANYONE
    text: str
    fail: bool = False


@dataclass(frozen=True, slots=True)
class Look(Query[None]):
    audience: ClassVar[Audience] = Audience.ANYONE


@dataclass
class Notes:
    clock: FakeClock
    seen: list[tuple[str, Via]] = field(default_factory=list)
    failures: int = 0

    @handles(Note)
    async def note(self, command: Note, ctx: Context) -> None:
        ctx.publish(Noted(command.text, self.clock.now(), ("a", "b")))
        if command.fail:
            raise NotFound("no")

    @handles(Look)
    async def look(self, query: Look, ctx: Context) -> None:
        ctx.publish(Noted("from a query", self.clock.now()))

    @reacts_to(Noted)
    async def remember(self, event: Noted, ctx: Context) -> None:
        if self.failures:
            self.failures -= 1
            raise ServiceUnavailable("down")
        self.seen.append((event.text, ctx.actor.via))  # an external effect: at least once
        await audit(ctx.uow, self.clock, AuditEvent.ADMIN_ACTION, action=event.text)  # a database one: once


@dataclass
class Setup:
    bus: MessageBus
    uows: FakeUnitOfWorkFactory
    notes: Notes
    delivery: Deliveries
    clock: FakeClock

    def audited(self) -> list[str]:
        return [e.details["action"] for e in self.uows.database.audit.values()]

    async def rows(self) -> list[str]:
        return [f"{e.event}/{e.reaction}" for e in self.uows.database.outbox.values()]


@pytest.fixture
def setup() -> Setup:
    clock = FakeClock(NOW)
    uows = FakeUnitOfWorkFactory()
    outbox = Outbox(clock)
    bus = MessageBus(uows, outbox=outbox)
    notes = Notes(clock)
    bus.register(notes, DeliveryHandlers(clock, outbox))
    return Setup(bus, uows, notes, Deliveries(bus), clock)


def test_the_payload_codec_round_trips_fields() -> None:
    event = Noted("x", NOW, ("k1", "k2"))
    payload = encode(event)
    assert payload == {"text": "x", "at": NOW.isoformat(), "tags": ["k1", "k2"]}
    assert decode(Noted, payload) == event
    assert Noted.name() == "Noted" and ObjectsReleased.name() == "ObjectsReleased"


def test_backoff_doubles_and_is_capped_at_an_hour() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 10)] == [2, 4, 8, 1024]
    assert backoff(12) == backoff(50) == timedelta(hours=1)


async def test_a_published_event_is_stored_only_when_the_command_commits(setup: Setup) -> None:
    with pytest.raises(NotFound):
        await setup.bus(Note("lost", fail=True), Actor.operator())
    assert await setup.rows() == []

    await setup.bus(Note("kept"), Actor.operator())
    assert await setup.rows() == ["Noted/Notes.remember"]
    assert setup.notes.seen == []  # not run inline: a worker delivers it


async def test_a_query_cannot_publish(setup: Setup) -> None:
    with pytest.raises(RuntimeError):
        await setup.bus(Look(), Actor.operator())
    assert await setup.rows() == []


async def test_delivery_runs_the_reaction_as_the_worker_and_completes_the_row(setup: Setup) -> None:
    await setup.bus(Note("hello"), Actor.operator())

    done = await setup.delivery.run_due(10)

    assert (done.ok, done.total) == (1, 1)
    assert setup.notes.seen == [("hello", Via.WORKER)]
    assert setup.audited() == ["hello"]
    assert await setup.rows() == []
    assert (await setup.delivery.run_due(10)).total == 0  # exactly once


async def test_a_failing_reaction_is_retried_with_backoff(setup: Setup) -> None:
    setup.notes.failures = 2
    await setup.bus(Note("flaky"), Actor.operator())

    assert (await setup.delivery.run_due(10)).retried == 1
    [entry] = setup.uows.database.outbox.values()
    assert (entry.attempts, entry.due_at, entry.leased_until) == (1, NOW + timedelta(seconds=2), None)
    assert "ServiceUnavailable" in entry.last_error
    assert (await setup.delivery.run_due(10)).total == 0  # not due yet

    setup.clock.advance(2)
    assert (await setup.delivery.run_due(10)).retried == 1
    assert entry.due_at == NOW + timedelta(seconds=2 + 4)
    setup.clock.advance(3)
    assert (await setup.delivery.run_due(10)).total == 0
    setup.clock.advance(1)
    assert (await setup.delivery.run_due(10)).ok == 1
    assert setup.notes.seen == [("flaky", Via.WORKER)]


async def test_after_the_last_attempt_a_delivery_is_failed_until_requeued(setup: Setup) -> None:
    setup.notes.failures = MAX_ATTEMPTS
    await setup.bus(Note("doomed"), Actor.operator())

    outcomes = []
    for _ in range(MAX_ATTEMPTS):
        setup.clock.advance(3600)
        done = await setup.delivery.run_due(10)
        outcomes.append("failed" if done.failed else "retry" if done.retried else "none")
    assert outcomes == ["retry"] * (MAX_ATTEMPTS - 1) + ["failed"]
    setup.clock.advance(86400)
    assert (await setup.delivery.run_due(10)).total == 0  # failed rows are not claimed

    [failed] = await setup.delivery.failed()
    assert (failed.event, failed.reaction, failed.attempts) == ("Noted", "Notes.remember", MAX_ATTEMPTS)
    assert failed.failed_at is not None and failed.last_error

    assert await setup.delivery.requeue([failed.id + 1]) == 0  # type: ignore[operator]
    assert await setup.delivery.requeue([failed.id]) == 1  # type: ignore[list-item]
    assert await setup.delivery.failed() == []
    assert (await setup.delivery.run_due(10)).ok == 1
    assert setup.notes.seen == [("doomed", Via.WORKER)]


async def test_a_claimed_row_is_not_claimed_again_until_its_lease_ends(setup: Setup) -> None:
    await setup.bus(Note("leased"), Actor.operator())

    [first] = await setup.delivery.claim(10)  # a worker claims it, then dies
    assert await setup.delivery.claim(10) == []
    setup.clock.advance(301)
    [second] = await setup.delivery.claim(10)  # another one takes it over
    assert second.id == first.id

    assert await setup.delivery.run(first) == "lost"  # the dead one's lease is no longer its own
    assert await setup.delivery.run(second) == "ok"
    assert setup.audited() == ["leased"]  # the database effect once (the lost run's rolled back)
    assert len(setup.notes.seen) == 2  # external effects at least once: reactions are idempotent
    assert await setup.rows() == []


async def test_requeue_all(setup: Setup) -> None:
    setup.notes.failures = 2 * MAX_ATTEMPTS
    await setup.bus(Note("one"), Actor.operator())
    await setup.bus(Note("two"), Actor.operator())
    for _ in range(MAX_ATTEMPTS):
        setup.clock.advance(3600)
        await setup.delivery.run_due(10)
    assert len(await setup.delivery.failed()) == 2
    assert await setup.delivery.requeue(None) == 2
    stats = await setup.delivery.stats()
    assert (stats.queued, stats.failed) == (2, 0)


# ---------------------------------------------------------------------- stored objects released


async def test_a_replaced_picture_is_removed_by_the_worker(world: World) -> None:
    user = await world.register()
    principal = await world.principal(user)
    set_first = await world.send(SetProfilePicture(io.BytesIO(b"FAKEIMAGE one")), principal.actor)
    first = set_first.user.profile_picture_key
    await world.send(SetProfilePicture(io.BytesIO(b"FAKEIMAGE two")), principal.actor)
    assert first is not None and await world.storage.exists(first)

    assert await world.deliver() == 1
    assert not await world.storage.exists(first)


async def test_a_storage_failure_is_retried_instead_of_leaving_an_orphan(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await world.register()
    principal = await world.principal(user)
    set_first = await world.send(SetProfilePicture(io.BytesIO(b"FAKEIMAGE one")), principal.actor)
    first = set_first.user.profile_picture_key
    await world.send(SetProfilePicture(io.BytesIO(b"FAKEIMAGE two")), principal.actor)
    assert first is not None
    calls: list[list[str]] = []
    original = world.storage.delete_many

    async def broken(keys: list[str]) -> None:
        calls.append(list(keys))
        raise ServiceUnavailable("storage down")

    monkeypatch.setattr(world.storage, "delete_many", broken)
    done = await Deliveries(world.app.bus).run_due(10)
    assert done.retried == 1 and calls == [[first]]
    assert await world.storage.exists(first)

    monkeypatch.setattr(world.storage, "delete_many", original)
    world.clock.advance(2)
    assert (await Deliveries(world.app.bus).run_due(10)).ok == 1
    assert not await world.storage.exists(first)


async def test_a_release_is_forgotten_when_its_change_rolls_back(world: World) -> None:
    async with world.uow() as uow:
        await world.app.media.release(uow, ["audio/x.mp3"])
        await uow.rollback()
    assert await world.deliver() == 0
    async with world.uow() as uow:
        await world.app.media.release(uow, ["audio/x.mp3", "audio/x.mp3"])
        await uow.commit()
    [entry] = world.uow.database.outbox.values()
    assert (entry.event, entry.reaction, entry.payload) == (
        "ObjectsReleased",
        "MediaReactions.delete_released",
        {"keys": ["audio/x.mp3"]},
    )
    assert await world.deliver() == 1  # a key already gone is fine


async def test_the_worker_loop_delivers_and_stops_when_asked(world: World) -> None:
    import asyncio

    from sono.entrypoints.worker import Worker

    async with world.uow() as uow:
        await world.app.media.release(uow, ["audio/x.mp3"])
        await uow.commit()
    worker = Worker(world.app, concurrency=2, poll_seconds=0.01, run_jobs=False)
    task = asyncio.create_task(worker.run())
    while worker.delivered == 0 and not task.done():
        await asyncio.sleep(0)
    worker.stop()
    await asyncio.wait_for(task, 5)
    assert worker.delivered == 1
    assert (await Deliveries(world.app.bus).stats()).queued == 0


@dataclass
class RecordingTracer:
    """A tracer whose current trace is ``current``; records the spans the core opens."""

    current: dict[str, str] = field(default_factory=dict)
    spans: list[tuple[str, dict[str, str] | None]] = field(default_factory=list)

    def span(self, name: str, attributes: object = None) -> contextlib.AbstractContextManager[None]:
        self.spans.append((name, None))
        return contextlib.nullcontext()

    def carrier(self) -> dict[str, str]:
        return dict(self.current)

    def continued(
        self, carrier: Mapping[str, str] | None, name: str, attributes: object = None
    ) -> contextlib.AbstractContextManager[None]:
        self.spans.append((name, None if carrier is None else dict(carrier)))
        return contextlib.nullcontext()


async def test_an_event_carries_the_trace_it_was_recorded_in_to_its_delivery() -> None:
    clock = FakeClock(NOW)
    uows = FakeUnitOfWorkFactory()
    tracer = RecordingTracer({"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
    outbox = Outbox(clock, tracer)
    bus = MessageBus(uows, [Traced(tracer)], outbox=outbox)
    notes = Notes(clock)
    bus.register(notes, DeliveryHandlers(clock, outbox))

    await bus(Note("traced"), Actor.operator())
    tracer.current = {}  # the worker runs later, outside the request's trace
    done = await Deliveries(bus, tracer).run_due(10)

    assert done.ok == 1 and notes.seen == [("traced", Via.WORKER)]  # the carrier is not part of the event
    assert tracer.spans == [
        (Note.name(), None),  # the seam's span around the command
        (ClaimDeliveries.name(), None),
        ("deliver Notes.remember", {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}),
        (DeliverEvent.name(), None),  # the delivery's messages, inside the continued trace
        (RunReaction.name(), None),
    ]


async def test_without_a_trace_the_payload_is_the_event_alone(setup: Setup) -> None:
    await setup.bus(Note("plain"), Actor.operator())

    [entry] = setup.uows.database.outbox.values()
    assert TRACE not in entry.payload and entry.payload["text"] == "plain"
