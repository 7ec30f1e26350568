"""Reading the audit log and its retention, on the fakes with the clock under the test's control."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sono.application.audit.messages import PurgeExpiredAuditEntries, ReadAuditLog
from sono.application.messages import ANONYMOUS, Actor
from sono.domain.errors import NotAuthenticated, PermissionDenied, ValidationFailed
from sono.domain.gdpr import AuditFilter
from sono.entrypoints.worker import run_due_jobs
from tests.unit.conftest import World, make_world


async def test_admins_and_operators_read_the_log_others_are_refused(world: World) -> None:
    root = await world.principal(await world.register("root", superuser=True))
    alice = await world.principal(await world.register("alice"))
    page = await world.app.bus(ReadAuditLog(AuditFilter(action="user.register")), root.actor)
    assert sorted(entry.user_id or 0 for entry in page.items) == sorted([root.user_id, alice.user_id])
    assert (await world.app.bus(ReadAuditLog(AuditFilter()), Actor.operator())).total == page.total
    with pytest.raises(PermissionDenied):
        await world.app.bus(ReadAuditLog(AuditFilter()), alice.actor)
    with pytest.raises(NotAuthenticated):
        await world.app.bus(ReadAuditLog(AuditFilter()), ANONYMOUS)


async def test_a_reversed_time_range_and_an_overlong_action_are_422(world: World) -> None:
    now = world.clock.now()
    for spec, field in (
        (AuditFilter(since=now, until=now), "until"),
        (AuditFilter(since=now, until=now - timedelta(seconds=1)), "until"),
        (AuditFilter(action="x" * 65), "action"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            await world.app.bus(ReadAuditLog(spec), Actor.operator())
        assert [e.field for e in refused.value.errors] == [field]


async def test_the_run_due_job_removes_entries_past_the_retention_period(world: World) -> None:
    await world.register("old")
    world.clock.advance(10 * 86400)
    await world.register("recent")
    world.clock.advance(360 * 86400)  # "old" registered 370 days ago, "recent" 360
    report = await run_due_jobs(world.app)
    assert report.audit_entries_purged == 1
    left = await world.app.bus(ReadAuditLog(AuditFilter(action="user.register")), Actor.operator())
    assert left.total == 1
    assert (await run_due_jobs(world.app)).audit_entries_purged == 0


async def test_a_retention_of_zero_keeps_everything(world: World) -> None:
    forever = make_world(world.clock, SONO_AUDIT_RETENTION_DAYS="0")
    await forever.register("old")
    forever.clock.advance(10_000 * 86400)
    assert await forever.app.bus(PurgeExpiredAuditEntries(), Actor.worker()) == 0
    assert (await forever.app.bus(ReadAuditLog(AuditFilter()), Actor.operator())).total == 1
