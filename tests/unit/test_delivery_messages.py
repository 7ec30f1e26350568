"""The outbox's delivery transactions through the bus, on the fakes: a claim leases its rows, a
claimed row is delivered (its reaction and its completion in one unit of work, lost when its lease
ran out), a failure is retried with back-off and then given up, the operator requeues."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest

from sono.application.accounts.messages import SetProfilePicture
from sono.application.delivery.messages import (
    ClaimDeliveries,
    DeliverEvent,
    DeliveryStats,
    FailedDeliveries,
    RecordDeliveryFailure,
    RequeueDeliveries,
    RunReaction,
)
from sono.application.events import LeaseLost
from sono.application.messages import ANONYMOUS, Actor
from sono.domain.errors import NotAuthenticated, PermissionDenied, ServiceUnavailable
from tests.fakes.metrics import RecordingMetrics
from tests.fakes.security import FakeClock
from tests.unit.conftest import World, make_world

WORKER = Actor.worker()


async def _one_row(world: World) -> None:
    user = await world.register("alice")
    assert user.id is not None
    actor = Actor.user(user.id)
    await world.app.bus(SetProfilePicture(io.BytesIO(b"FAKEIMAGE one")), actor)
    await world.app.bus(SetProfilePicture(io.BytesIO(b"FAKEIMAGE two")), actor)  # releases the first


async def test_only_the_worker_or_an_admin_reaches_the_outbox(world: World) -> None:
    user = await world.register("alice")
    assert user.id is not None
    with pytest.raises(PermissionDenied):
        await world.app.bus(ClaimDeliveries(10), Actor.user(user.id))


async def test_a_claimed_row_is_leased_and_a_failure_retries_then_gives_up(world: World) -> None:
    await _one_row(world)
    assert (await world.app.bus(DeliveryStats(), WORKER)).queued == 1
    [entry] = await world.app.bus(ClaimDeliveries(10), WORKER)
    assert await world.app.bus(ClaimDeliveries(10), WORKER) == []  # leased
    assert await world.app.bus(RecordDeliveryFailure(entry, "Boom: x"), WORKER) == "retry"
    assert await world.app.bus(RecordDeliveryFailure(entry, "Boom: x"), WORKER) == "lost"  # its lease is over
    world.clock.advance(3600)
    [again] = await world.app.bus(ClaimDeliveries(10), WORKER)
    assert again.id == entry.id and again.attempts == 1
    last = replace(again, attempts=9)  # the tenth attempt is the last
    assert await world.app.bus(RecordDeliveryFailure(last, "Boom: y"), WORKER) == "failed"
    [failed] = await world.app.bus(FailedDeliveries(), Actor.operator())
    assert (failed.id, failed.last_error) == (entry.id, "Boom: y")
    assert (await world.app.bus(DeliveryStats(), WORKER)).failed == 1
    assert await world.app.bus(RequeueDeliveries([entry.id or 0]), Actor.operator()) == 1
    assert (await world.app.bus(DeliveryStats(), WORKER)).queued == 1


async def test_delivering_a_claimed_row_runs_its_reaction_once_and_completes_it(world: World) -> None:
    await _one_row(world)
    [entry] = await world.app.bus(ClaimDeliveries(10), WORKER)
    (released,) = entry.payload["keys"]
    assert await world.storage.exists(released)

    assert await world.app.bus(DeliverEvent(entry), WORKER) == "ok"

    assert not await world.storage.exists(released)
    assert (await world.app.bus(DeliveryStats(), WORKER)).queued == 0
    assert await world.app.bus(ClaimDeliveries(10), WORKER) == []


async def test_a_row_whose_lease_ran_out_is_lost_and_left_to_the_other_claim(world: World) -> None:
    await _one_row(world)
    [stale] = await world.app.bus(ClaimDeliveries(10), WORKER)
    world.clock.advance(6 * 60)  # the lease ran out: another worker claims the row
    [current] = await world.app.bus(ClaimDeliveries(10), WORKER)

    with pytest.raises(LeaseLost):
        await world.app.bus(RunReaction(stale), WORKER)
    assert await world.app.bus(DeliverEvent(stale), WORKER) == "lost"
    assert (await world.app.bus(DeliveryStats(), WORKER)).queued == 1  # still the other claim's

    assert await world.app.bus(DeliverEvent(current), WORKER) == "ok"
    assert (await world.app.bus(DeliveryStats(), WORKER)).queued == 0


async def test_a_failing_reaction_is_recorded_for_a_later_attempt(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _one_row(world)
    [entry] = await world.app.bus(ClaimDeliveries(10), WORKER)

    async def broken(keys: list[str]) -> None:
        raise ServiceUnavailable("storage down")

    monkeypatch.setattr(world.storage, "delete_many", broken)
    assert await world.app.bus(DeliverEvent(entry), WORKER) == "retry"
    [row] = world.uow.database.outbox.values()
    assert (row.attempts, row.leased_until, row.last_error) == (1, None, "ServiceUnavailable: storage down")


@pytest.mark.parametrize("message", [DeliverEvent, RunReaction])
async def test_only_the_worker_or_an_admin_delivers(world: World, message: type[DeliverEvent | RunReaction]) -> None:
    await _one_row(world)
    [entry] = await world.app.bus(ClaimDeliveries(10), WORKER)
    user = await world.register("bob")
    assert user.id is not None
    with pytest.raises(PermissionDenied):
        await world.app.bus(message(entry), Actor.user(user.id))
    with pytest.raises(NotAuthenticated):
        await world.app.bus(message(entry), ANONYMOUS)
    assert (await world.app.bus(DeliveryStats(), WORKER)).queued == 1


class _Deliveries(RecordingMetrics):
    def __init__(self) -> None:
        super().__init__()
        self.deliveries: list[tuple[str, str]] = []

    def delivery(self, reaction: str, outcome: str) -> None:
        self.deliveries.append((reaction, outcome))


async def test_each_delivery_is_counted_with_its_outcome_and_each_step_as_a_use_case(clock: FakeClock) -> None:
    world = make_world(clock)
    metrics = world.app.ports.metrics = _Deliveries()  # before the container makes its bus
    await _one_row(world)
    [entry] = await world.app.bus(ClaimDeliveries(10), WORKER)
    clock.advance(6 * 60)
    [again] = await world.app.bus(ClaimDeliveries(10), WORKER)
    metrics.use_cases.clear()

    assert await world.app.bus(DeliverEvent(entry), WORKER) == "lost"
    assert await world.app.bus(DeliverEvent(again), WORKER) == "ok"

    assert metrics.deliveries == [("MediaReactions.delete_released", "lost"), ("MediaReactions.delete_released", "ok")]
    assert metrics.use_cases == [
        (RunReaction.name(), "LeaseLost"),
        (DeliverEvent.name(), None),
        (RunReaction.name(), None),
        (DeliverEvent.name(), None),
    ]
