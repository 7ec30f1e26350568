from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sono.application.accounts.messages import Authenticate, Login, Refresh
from sono.application.common import PasswordInput
from sono.application.gdpr.messages import (
    CancelDeletion,
    DeleteAccount,
    ExportData,
    GetDeletionStatus,
    GiveConsent,
    ListConsents,
    RequestDeletion,
)
from sono.domain.audio import AudioFile
from sono.domain.collections import Collection, CollectionType, Permission
from sono.domain.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied
from sono.domain.gdpr import AuditEvent, DeletionStatus, DeletionType
from sono.domain.users import User
from sono.entrypoints.worker import run_due_jobs
from tests.unit.conftest import PASSWORD, World


async def _give_content(world: World, owner: User, other: User) -> dict[str, Any]:
    """Owner: an audio file and a collection with cover art; other: a playlist holding the owner's
    file between two of their own, with owner as collaborator."""
    now = world.clock.now()
    assert owner.id is not None and other.id is not None
    await world.storage.put_bytes("audio/own.mp3", b"x", "audio/mpeg")
    await world.storage.put_bytes("covers/own.jpg", b"x", "image/jpeg")
    await world.storage.put_bytes("avatars/own.webp", b"x", "image/webp")
    async with world.uow() as uow:
        stored_owner = await uow.users.get(owner.id)
        assert stored_owner is not None
        stored_owner.profile_picture_key = "avatars/own.webp"
        own = await uow.audio_files.add(
            AudioFile(
                owner.id,
                "Mine",
                "mine.mp3",
                "audio/own.mp3",
                "audio/mpeg",
                1,
                "mp3",
                duration=10.0,
                is_public=True,
                upload_date=now,
                updated_at=now,
            )
        )
        theirs = [
            await uow.audio_files.add(
                AudioFile(
                    other.id,
                    f"T{i}",
                    "t.mp3",
                    f"audio/t{i}.mp3",
                    "audio/mpeg",
                    1,
                    "mp3",
                    is_public=True,
                    upload_date=now,
                    updated_at=now,
                )
            )
            for i in range(2)
        ]
        await uow.collections.add(
            Collection(
                owner.id,
                "Album",
                CollectionType.ALBUM,
                cover_art_key="covers/own.jpg",
                created_date=now,
                updated_date=now,
            )
        )
        playlist = await uow.collections.add(
            Collection(
                other.id,
                "Mix",
                CollectionType.PLAYLIST,
                is_collaborative=True,
                created_date=now,
                updated_date=now,
            )
        )
        for audio in [theirs[0], own, theirs[1]]:
            assert audio.id is not None
            playlist.add_track(audio.id, now=now, added_by_id=other.id)
        playlist.add_collaborator(owner.id, Permission.EDIT, now=now, added_by_id=other.id)
        await uow.collections.save(playlist)
        await uow.commit()
    return {"playlist": playlist.id, "theirs": [a.id for a in theirs]}


async def test_request_deletion_is_scheduled_after_the_grace_period(world: World) -> None:
    principal = await world.principal(await world.register())

    request = await world.send(RequestDeletion(DeletionType.HARD, "Leaving"), principal.actor, ip="1.1.1.1")

    assert request.scheduled_for - request.requested_at == timedelta(days=7)
    status = await world.send(GetDeletionStatus(), principal.actor)
    assert status.request is not None and status.request.deletion_type == DeletionType.HARD
    assert status.request.reason == "Leaving" and status.days_remaining == 7.0
    stored = await world.user(principal.user_id)
    assert stored is not None and stored.deletion_requested_at == request.requested_at
    with pytest.raises(Conflict, match="A deletion request is already pending"):
        await world.send(RequestDeletion(DeletionType.SOFT, None), principal.actor)


async def test_cancel_deletion(world: World) -> None:
    principal = await world.principal(await world.register())
    with pytest.raises(NotFound, match="No pending deletion request found"):
        await world.send(CancelDeletion(), principal.actor)
    await world.send(RequestDeletion(DeletionType.SOFT, None), principal.actor)

    cancelled = await world.send(CancelDeletion(), principal.actor)

    assert cancelled.status == DeletionStatus.CANCELLED
    assert (await world.send(GetDeletionStatus(), principal.actor)).request is None
    stored = await world.user(principal.user_id)
    assert stored is not None and stored.deletion_requested_at is None
    await world.send(RequestDeletion(DeletionType.SOFT, None), principal.actor)  # may ask again


async def test_due_soft_deletion_deactivates_and_ends_sessions(world: World) -> None:
    user = await world.register()
    pair = await world.send(Login("alice", PasswordInput(PASSWORD)))
    principal = await world.send(Authenticate(pair.access_token))
    await world.send(RequestDeletion(DeletionType.SOFT, None), principal.actor)

    world.clock.advance(6 * 86400)
    assert (await run_due_jobs(world.app)).deletions_executed == 0
    world.clock.advance(86400)
    assert (await run_due_jobs(world.app)).deletions_executed == 1
    assert (await run_due_jobs(world.app)).deletions_executed == 0  # exactly once

    stored = await world.user(user.id)  # type: ignore[arg-type]
    assert stored is not None and not stored.is_active and stored.deactivated_at is not None
    with pytest.raises(NotAuthenticated):
        await world.send(Refresh(pair.refresh_token))
    with pytest.raises(PermissionDenied):
        await world.send(Login("alice", PasswordInput(PASSWORD)))


async def test_due_hard_deletion_erases_the_user_and_their_objects(world: World) -> None:
    owner = await world.register("alice")
    other = await world.register("bob")
    content = await _give_content(world, owner, other)
    principal = await world.principal(owner)
    await world.send(RequestDeletion(DeletionType.HARD, None), principal.actor)
    world.clock.advance(7 * 86400)

    report = await run_due_jobs(world.app)

    assert report.deletions_executed == 1
    assert await world.user(owner.id) is None  # type: ignore[arg-type]
    await world.deliver()
    for key in ("audio/own.mp3", "covers/own.jpg", "avatars/own.webp"):
        assert not await world.storage.exists(key)
    async with world.uow() as uow:
        playlist = await uow.collections.get(content["playlist"])
        assert playlist is not None
        assert [(t.audio_file_id, t.track_order) for t in playlist.tracks] == [
            (a, i) for i, a in enumerate(content["theirs"], 1)
        ]
        assert playlist.collaborators == []
        assert await uow.audit.list_for_user(owner.id) == []  # type: ignore[arg-type]


async def test_delete_now_checks_the_password(world: World) -> None:
    principal = await world.principal(await world.register())
    with pytest.raises(NotAuthenticated, match="Incorrect password"):
        await world.send(DeleteAccount(PasswordInput("Wr0ng!Password"), DeletionType.HARD), principal.actor)
    assert await world.user(principal.user_id) is not None


async def test_delete_now_soft_keeps_the_row_but_closes_the_account(world: World) -> None:
    principal = await world.principal(await world.register())
    await world.send(
        DeleteAccount(PasswordInput(world.decryptor.encrypt(PASSWORD), encrypted=True), DeletionType.SOFT),
        principal.actor,
    )
    stored = await world.user(principal.user_id)
    assert stored is not None and not stored.is_active
    with pytest.raises(NotAuthenticated):
        await world.send(Authenticate(world.tokens.issue_access(principal.claims)))


async def test_delete_now_hard_removes_everything(world: World) -> None:
    owner = await world.register("alice")
    other = await world.register("bob")
    await _give_content(world, owner, other)
    principal = await world.principal(owner)

    await world.send(DeleteAccount(PasswordInput(PASSWORD), DeletionType.HARD), principal.actor, ip="2.2.2.2")
    await world.deliver()

    assert await world.user(owner.id) is None  # type: ignore[arg-type]
    assert not await world.storage.exists("audio/own.mp3")
    async with world.uow() as uow:
        assert (await uow.audio_files.list_for_owner(owner.id, skip=0, limit=10)).total == 0  # type: ignore[arg-type]
        anonymous = [e for e in world.uow.database.audit.values() if e.event == AuditEvent.DELETION_EXECUTED]
    assert anonymous and all(e.user_id is None and e.ip_address is None for e in anonymous)


async def test_export_contains_everything_but_secrets(world: World) -> None:
    owner = await world.register("alice")
    other = await world.register("bob")
    await _give_content(world, owner, other)
    principal = await world.principal(owner)
    await world.send(GiveConsent("privacy_policy", "2.0", "192.168.1.1"), principal.actor)
    await world.send(RequestDeletion(DeletionType.SOFT, "why not"), principal.actor)

    data = await world.send(ExportData(), principal.actor)

    assert data.user.user.username == "alice" and data.exported_at == world.clock.now()
    assert data.user.picture_url == "memory://media/avatars/own.webp"
    assert [a.title for a in data.audio_files] == ["Mine"]
    assert [c.title for c in data.collections] == ["Album"]
    assert [(c.title, m.permission_level) for c, m in data.collaborations] == [("Mix", Permission.EDIT)]
    assert data.consents[0].consent_type == "privacy_policy" and data.consents[0].is_active
    assert data.deletion_requests[0].reason == "why not"
    assert any(e.event == AuditEvent.REGISTER for e in data.audit_log)


async def test_a_newer_consent_supersedes_the_active_one(world: World) -> None:
    principal = await world.principal(await world.register())
    first = await world.send(GiveConsent("privacy_policy", "1.0", None), principal.actor, ip="3.3.3.3")
    second = await world.send(GiveConsent("privacy_policy", "2.0", "192.168.1.1"), principal.actor)
    await world.send(GiveConsent("marketing", "1.0", None), principal.actor)

    consents = await world.send(ListConsents(), principal.actor)

    by_version = {(c.consent_type, c.consent_version): c for c in consents}
    assert not by_version[("privacy_policy", "1.0")].is_active
    assert by_version[("privacy_policy", "2.0")].is_active and by_version[("marketing", "1.0")].is_active
    assert first.ip_address == "3.3.3.3" and second.ip_address == "192.168.1.1"
    assert len(consents) == 3


async def test_consent_fields_are_validated(world: World) -> None:
    from sono.domain.errors import ValidationFailed

    principal = await world.principal(await world.register())
    with pytest.raises(ValidationFailed) as caught:
        await world.send(GiveConsent("", "x" * 21, None), principal.actor)
    assert [e.field for e in caught.value.errors] == ["consent_type", "consent_version"]
