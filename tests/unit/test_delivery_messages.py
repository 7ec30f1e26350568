"""The outbox's delivery transactions through the bus, on the fakes: a claim leases its rows, a
failure is retried with back-off and then given up, the operator requeues."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest

from sono.application.accounts.messages import SetProfilePicture
from sono.application.delivery.messages import (
    ClaimDeliveries,
    DeliveryStats,
    FailedDeliveries,
    RecordDeliveryFailure,
    RequeueDeliveries,
)
from sono.application.messages import Actor
from sono.domain.errors import PermissionDenied
from tests.unit.conftest import World

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
