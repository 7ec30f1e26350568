"""The admin use cases on the fakes."""

from __future__ import annotations

import io

import pytest

from sono.application import context
from sono.application.accounts.messages import Authenticate, SetProfilePicture, StartSession
from sono.application.admin.messages import (
    DeleteUser,
    DisableUser,
    EnableUser,
    FindUser,
    GetCatalogueStats,
    GetUploadStats,
    GetUser,
    ListUsers,
    ProcessPendingDeletions,
    SetUploadLimit,
)
from sono.application.admin.ports import Usage
from sono.application.audio.messages import DeleteAllAudioOf
from sono.application.common import Principal
from sono.application.gdpr.messages import RequestDeletion
from sono.application.messages import ANONYMOUS, Actor
from sono.domain.audio import AudioFile
from sono.domain.errors import BadRequest, NotAuthenticated, NotFound, PermissionDenied, SessionEnded, ValidationFailed
from sono.domain.gdpr import AuditEvent, DeletionType
from sono.domain.users import User
from tests.fakes.security import FakeClock
from tests.unit.conftest import World, make_world


async def _admin(world: World, name: str = "root") -> Principal:
    return await world.principal(await world.register(name, superuser=True))


async def _audio(world: World, owner: User, key: str, size: int) -> AudioFile:
    await world.storage.put_bytes(key, b"x", "audio/mpeg")
    async with world.uow() as uow:
        audio = await uow.audio_files.add(
            AudioFile(owner.id, "t", "t.mp3", key, "audio/mpeg", size, "mp3", upload_date=world.clock.now())  # type: ignore[arg-type]
        )
        await uow.commit()
    return audio


async def test_users_come_with_their_usage_and_pending_deletion(world: World) -> None:
    root = await _admin(world)
    world.clock.advance(60)
    alice = await world.register("alice")
    await _audio(world, alice, "audio/a1.mp3", 10)
    await _audio(world, alice, "audio/a2.mp3", 20)
    await world.send(RequestDeletion(DeletionType.SOFT, None), (await world.principal(alice)).actor)

    page = await world.app.bus(ListUsers(None, 0, 10), root.actor)
    assert [(s.user.username, s.usage, s.pending_deletion) for s in page.items] == [
        ("alice", Usage(2, 30), True),
        ("root", Usage(), False),
    ]
    assert (await world.app.bus(ListUsers("  ROO ", 0, 10), root.actor)).total == 1
    with pytest.raises(ValidationFailed) as too_long:
        await world.app.bus(ListUsers("q" * 255, 0, 10), root.actor)
    assert too_long.value.errors[0].field == "q"
    stats = await world.app.bus(GetUploadStats(alice.id), root.actor)  # type: ignore[arg-type]
    assert (stats.used_uploads, stats.max_uploads, stats.remaining_uploads, stats.total_bytes) == (2, 20, 18, 30)


async def test_users_come_with_their_pictures_url(world: World) -> None:
    root = await _admin(world)
    alice = await world.register("alice")
    await world.send(SetProfilePicture(io.BytesIO(b"FAKEIMAGE alice")), Actor.user(alice.id))  # type: ignore[arg-type]
    stored = await world.user(alice.id)  # type: ignore[arg-type]
    assert stored is not None and stored.profile_picture_key is not None
    url = f"memory://media/{stored.profile_picture_key}"

    page = await world.app.bus(ListUsers(None, 0, 10), root.actor)
    assert {s.user.username: s.picture_url for s in page.items} == {"alice": url, "root": None}
    assert (await world.app.bus(GetUser(alice.id), root.actor)).picture_url == url  # type: ignore[arg-type]


async def test_upload_limits_stay_within_0_and_1_000_000(world: World) -> None:
    root = await _admin(world)
    alice = await world.register("alice")
    assert alice.id is not None
    for limit in (-1, 1_000_001):
        with pytest.raises(ValidationFailed) as refused:
            await world.app.bus(SetUploadLimit(alice.id, limit), root.actor)
        assert refused.value.errors[0].field == "max_audio_uploads"
    summary = await world.app.bus(SetUploadLimit(alice.id, 0), root.actor)
    assert summary.user.max_audio_uploads == 0
    assert (await world.user(alice.id)).max_audio_uploads == 0  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        await world.app.bus(SetUploadLimit(999, 5), root.actor)


async def test_find_user_by_username_for_the_command_line(world: World) -> None:
    root = await _admin(world)
    alice = await world.register("alice")
    found = await world.app.bus(FindUser(" ALICE "), root.actor)
    assert (found.user.id, found.quota.max_uploads, found.quota.used_uploads) == (alice.id, 20, 0)
    assert (await world.app.bus(FindUser("alice"), Actor.operator())).user.id == alice.id
    with pytest.raises(NotFound):
        await world.app.bus(FindUser("nobody"), root.actor)
    with pytest.raises(PermissionDenied):
        await world.app.bus(FindUser("alice"), (await world.principal(alice)).actor)


async def test_new_accounts_get_the_configured_upload_limit_and_a_reset_restores_it(clock: FakeClock) -> None:
    world = make_world(clock, SONO_DEFAULT_UPLOAD_LIMIT="500")
    root = await _admin(world)
    alice = await world.register("alice")
    assert alice.max_audio_uploads == 500
    assert alice.id is not None
    await world.app.bus(SetUploadLimit(alice.id, 3), root.actor)
    reset = (await world.send(DeleteAllAudioOf(alice.id, reset_quota=True), root.actor)).user
    assert reset.max_audio_uploads == 500


async def test_disabling_ends_sessions_and_revokes_refresh_families(world: World) -> None:
    root = await _admin(world)
    alice = await world.register("alice")
    assert alice.id is not None
    session = await world.send(StartSession(alice.id), Actor.operator())

    world.clock.advance(5)
    with context.bind(ip="10.0.0.1"):  # as the edge binds the client's address
        await world.app.bus(DisableUser(alice.id), root.actor)

    with pytest.raises(SessionEnded):
        await world.send(Authenticate(session.access_token))
    async with world.uow() as uow:
        stored = await uow.users.get(alice.id)
        assert stored is not None and not stored.is_active and stored.deactivated_at == world.clock.now()
        families = [f for f in world.uow.database.families.values() if f.user_id == alice.id]
        assert families and all(f.revoked_at == world.clock.now() for f in families)
        entry = next(e for e in await uow.audit.list_for_user(alice.id) if e.event == AuditEvent.ADMIN_ACTION)
    assert (entry.actor_id, entry.user_id, entry.ip_address, entry.details["action"]) == (
        root.user_id,
        alice.id,
        "10.0.0.1",
        "disable",
    )
    await world.app.bus(EnableUser(alice.id), root.actor)
    assert (await world.user(alice.id)).is_active  # type: ignore[union-attr]


async def test_disabling_a_disabled_user_or_enabling_an_active_one_is_refused(world: World) -> None:
    root = await _admin(world)
    alice = await world.register("alice")
    assert alice.id is not None

    with pytest.raises(BadRequest) as enabled:
        await world.app.bus(EnableUser(alice.id), root.actor)
    await world.app.bus(DisableUser(alice.id), root.actor)
    with pytest.raises(BadRequest) as disabled:
        await world.app.bus(DisableUser(alice.id), root.actor)

    assert (enabled.value.detail, disabled.value.detail) == ("User is already enabled", "User is already disabled")
    assert not (await world.user(alice.id)).is_active  # type: ignore[union-attr]


async def test_admins_are_protected_from_each_other_and_from_themselves(world: World) -> None:
    root = await _admin(world)
    other = await _admin(world, "other")
    for action in (DisableUser, EnableUser, DeleteUser):
        for target in (root.user_id, other.user_id):
            with pytest.raises(BadRequest):
                await world.app.bus(action(target), root.actor)
    assert (await world.user(other.user_id)) is not None


async def test_users_cannot_use_the_admin_use_cases(world: World) -> None:
    alice = await world.principal(await world.register("alice"))
    bob = await world.register("bob")
    assert bob.id is not None
    for attempt in (
        GetCatalogueStats(),
        ListUsers(None, 0, 10),
        GetUser(bob.id),
        GetUploadStats(bob.id),
        SetUploadLimit(bob.id, 100),
        DisableUser(bob.id),
        EnableUser(bob.id),
        DeleteUser(bob.id),
        ProcessPendingDeletions(),
    ):
        with pytest.raises(PermissionDenied):
            await world.app.bus(attempt, alice.actor)
        with pytest.raises(NotAuthenticated):
            await world.app.bus(attempt, ANONYMOUS)
    stored = await world.user(bob.id)
    assert stored is not None and stored.is_active and stored.max_audio_uploads == 20


async def test_deleting_a_user_removes_their_objects_after_commit(world: World) -> None:
    root = await _admin(world)
    alice = await world.register("alice")
    assert alice.id is not None
    await _audio(world, alice, "audio/alice.mp3", 5)
    usage = await world.app.bus(DeleteUser(alice.id), root.actor)
    assert usage == Usage(1, 5)
    await world.deliver()
    assert await world.user(alice.id) is None
    assert not await world.storage.exists("audio/alice.mp3")
    stats = await world.app.bus(GetCatalogueStats(), root.actor)
    assert (stats.total_users, stats.total_audio_files) == (1, 0)


async def test_due_deletions_run_on_demand(world: World) -> None:
    root = await _admin(world)
    alice = await world.register("alice")
    await world.send(RequestDeletion(DeletionType.HARD, None), (await world.principal(alice)).actor)
    assert await world.app.bus(ProcessPendingDeletions(), root.actor) == 0
    world.clock.advance(7 * 86400 + 1)
    assert await world.app.bus(ProcessPendingDeletions(), root.actor) == 1
    assert await world.user(alice.id) is None  # type: ignore[arg-type]


async def test_changes_are_audited_with_the_admin_and_the_request_address(world: World) -> None:
    root = await _admin(world)
    alice, bob = await world.register("alice"), await world.register("bob")
    assert alice.id is not None and bob.id is not None
    with context.bind(ip="203.0.113.9"):
        await world.app.bus(SetUploadLimit(bob.id, 3), root.actor)
        await world.app.bus(DeleteUser(alice.id), root.actor)
        await world.app.bus(ProcessPendingDeletions(), root.actor)
    entries = [e for e in world.uow.database.audit.values() if e.event == AuditEvent.ADMIN_ACTION]
    assert [(e.details["action"], e.actor_id, e.ip_address) for e in entries] == [
        ("set_upload_limit", root.user_id, "203.0.113.9"),
        ("delete_user", root.user_id, "203.0.113.9"),
        ("process_pending_deletions", root.user_id, "203.0.113.9"),
    ]
    assert entries[1].details["target_user_id"] == alice.id
    assert entries[2].details["processed_count"] == 0


async def test_the_command_line_may_run_due_deletions(world: World) -> None:
    alice = await world.register("alice")
    await world.send(RequestDeletion(DeletionType.HARD, None), (await world.principal(alice)).actor)
    world.clock.advance(7 * 86400 + 1)
    assert await world.app.bus(ProcessPendingDeletions(), Actor.operator()) == 1
    entry = next(e for e in world.uow.database.audit.values() if e.details.get("action") == "process_pending_deletions")
    assert (entry.actor_id, entry.details["processed_count"]) == (None, 1)
