"""The periodic jobs as messages, on the fakes: ``RunDueJobs`` and its steps that have no other
sender (``RunDueDeletions``, ``PurgeOrphanedObjects``) are the system's (or an admin's or the
operator's), and each does its job through the bus."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sono.application.gdpr.messages import RequestDeletion, RunDueDeletions
from sono.application.jobs import JobReport, RunDueJobs
from sono.application.media.messages import OrphanedObjects, PurgeOrphanedObjects
from sono.application.messages import ANONYMOUS, Actor, Message
from sono.domain.errors import NotAuthenticated, PermissionDenied
from sono.domain.gdpr import DeletionType
from tests.unit.conftest import World

WORKER = Actor.worker()


@pytest.mark.parametrize(
    "message",
    [RunDueJobs(), RunDueDeletions(), PurgeOrphanedObjects(), OrphanedObjects(cutoff=None, limit=1)],  # type: ignore[arg-type]
    ids=lambda m: type(m).__name__,
)
async def test_only_the_system_an_admin_or_the_operator_runs_the_jobs(world: World, message: Message[object]) -> None:
    user = await world.register("alice")
    assert user.id is not None
    with pytest.raises(PermissionDenied):
        await world.app.bus(message, Actor.user(user.id))
    with pytest.raises(NotAuthenticated):
        await world.app.bus(message, ANONYMOUS)


async def test_due_deletions_run_batch_after_batch_until_none_is_due(world: World) -> None:
    for name in ("alice", "bob", "carol"):
        principal = await world.principal(await world.register(name))
        await world.send(RequestDeletion(DeletionType.HARD, None), principal.actor)
    assert await world.app.bus(RunDueDeletions(), WORKER) == 0  # the grace period is not over
    world.clock.advance(7 * 86400 + 1)

    assert await world.app.bus(RunDueDeletions(batch=2), WORKER) == 3
    assert [u.username for u in world.uow.database.users.values()] == []
    assert await world.app.bus(RunDueDeletions(), Actor.operator()) == 0  # each exactly once


async def test_objects_staged_over_an_hour_ago_without_a_row_are_purged_batch_by_batch(world: World) -> None:
    keys = [f"audio/orphan-{n}.mp3" for n in range(5)]
    async with world.uow() as uow:
        for key in keys:
            await uow.pending_objects.add(key, world.clock.now())
        await uow.commit()
    for key in keys:
        await world.storage.put_bytes(key, b"x", "audio/mpeg")
    world.clock.advance(59 * 60)
    assert await world.app.bus(PurgeOrphanedObjects(batch=2), WORKER) == 0

    world.clock.advance(2 * 60)
    assert sorted(await world.app.bus(OrphanedObjects(world.clock.now() - timedelta(hours=1), 10), WORKER)) == keys
    assert await world.app.bus(PurgeOrphanedObjects(batch=2), WORKER) == 5

    assert world.storage.objects == {}
    assert list(world.uow.database.pending_objects) == []


async def test_the_periodic_jobs_report_what_each_did(world: World) -> None:
    principal = await world.principal(await world.register("alice"))
    await world.send(RequestDeletion(DeletionType.SOFT, None), principal.actor)
    world.clock.advance(7 * 86400 + 1)

    report = await world.app.bus(RunDueJobs(), WORKER)

    assert isinstance(report, JobReport)
    assert report.deletions_executed == 1
    assert (await world.app.bus(RunDueJobs(), Actor.operator())).deletions_executed == 0
