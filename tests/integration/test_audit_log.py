"""The audit log's search and retention: one specification (``AuditFilter``) evaluated by the
fakes and compiled to SQL, on the fakes, SQLite and PostgreSQL; then the same over HTTP and with
``sono audit``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sono.application.uow import UnitOfWorkFactory
from sono.domain.gdpr import AuditEntry, AuditEvent, AuditFilter
from sono.domain.users import User

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


async def _seed(uows: UnitOfWorkFactory) -> tuple[int, int, list[AuditEntry]]:
    async with uows() as uow:
        root = await uow.users.add(User("root", "root@example.com", "x", created_at=NOW, is_superuser=True))
        alice = await uow.users.add(User("alice", "alice@example.com", "x", created_at=NOW))
        await uow.commit()
    assert root.id is not None and alice.id is not None
    entries = [
        AuditEntry(AuditEvent.REGISTER, NOW - 5 * HOUR, user_id=alice.id, ip_address="192.0.2.1"),
        AuditEntry(AuditEvent.LOGIN_FAILURE, NOW - 4 * HOUR, user_id=alice.id, details={"reason": "password"}),
        AuditEntry(AuditEvent.LOGIN_SUCCESS, NOW - 3 * HOUR, user_id=alice.id),
        AuditEntry(
            AuditEvent.ADMIN_ACTION,
            NOW - 2 * HOUR,
            user_id=alice.id,
            actor_id=root.id,
            details={"action": "user.disable"},
        ),
        AuditEntry(
            AuditEvent.ADMIN_ACTION,
            NOW - HOUR,
            actor_id=root.id,
            details={"action": "announcement.create", "announcement_id": 1},
        ),
        AuditEntry("auth_login.odd", NOW, user_id=root.id),  # `_` must not act as a LIKE wildcard for `auth.*`
    ]
    async with uows() as uow:
        for entry in entries:
            await uow.audit.add(entry)
        await uow.commit()
    return root.id, alice.id, entries


async def _events(uows: UnitOfWorkFactory, spec: AuditFilter, skip: int = 0, limit: int = 100) -> tuple[list[str], int]:
    async with uows(read_only=True) as uow:
        page = await uow.audit.search(spec, skip=skip, limit=limit)
    return [f"{e.event}:{e.details.get('action', '')}".rstrip(":") for e in page.items], page.total


async def test_the_audit_filter_means_the_same_on_every_backend(uows: UnitOfWorkFactory) -> None:
    root, alice, _ = await _seed(uows)
    assert (await _events(uows, AuditFilter()))[1] == 6
    assert await _events(uows, AuditFilter(actor_id=root)) == (
        ["admin.action:announcement.create", "admin.action:user.disable"],
        2,
    )
    assert (await _events(uows, AuditFilter(user_id=alice)))[0] == [
        "admin.action:user.disable",
        "auth.login.success",
        "auth.login.failure",
        "user.register",
    ]
    assert (await _events(uows, AuditFilter(action="auth.*")))[0] == ["auth.login.success", "auth.login.failure"]
    assert (await _events(uows, AuditFilter(action="auth.login.failure")))[0] == ["auth.login.failure"]
    assert (await _events(uows, AuditFilter(action="user.disable")))[0] == ["admin.action:user.disable"]
    assert (await _events(uows, AuditFilter(action="nothing.*")))[1] == 0
    window = AuditFilter(since=NOW - 4 * HOUR, until=NOW - 2 * HOUR)  # since inclusive, until exclusive
    assert (await _events(uows, window))[0] == ["auth.login.success", "auth.login.failure"]
    both = AuditFilter(actor_id=root, user_id=alice, action="user.disable", since=NOW - 3 * HOUR)
    assert (await _events(uows, both))[0] == ["admin.action:user.disable"]
    second_page = await _events(uows, AuditFilter(user_id=alice), skip=1, limit=2)
    assert second_page == (["auth.login.success", "auth.login.failure"], 4)


async def test_retention_removes_only_entries_older_than_the_cutoff(uows: UnitOfWorkFactory) -> None:
    await _seed(uows)
    async with uows() as uow:
        removed = await uow.audit.delete_older_than(NOW - 3 * HOUR)
        await uow.commit()
    assert removed == 2
    events, total = await _events(uows, AuditFilter())
    assert total == 4
    assert "user.register" not in events and "auth.login.failure" not in events
    async with uows() as uow:
        assert await uow.audit.delete_older_than(NOW - 3 * HOUR) == 0
        await uow.commit()


@pytest.mark.parametrize("action", ["%", "auth.login%", "_uth.*", "admin.action' OR '1'='1"])
async def test_hostile_actions_match_literally(uows: UnitOfWorkFactory, action: str) -> None:
    await _seed(uows)
    assert await _events(uows, AuditFilter(action=action)) == ([], 0)
