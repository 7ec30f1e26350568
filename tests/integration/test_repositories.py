"""One contract for the repositories and the unit of work, run on the in-memory fakes, SQLite and
PostgreSQL (``SONO_TEST_POSTGRES_URL``): the fakes must behave like the database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from sono.adapters.sqlalchemy import migrate
from sono.adapters.sqlalchemy.engine import create_engine, ping
from sono.adapters.sqlalchemy.uow import SqlUnitOfWorkFactory
from sono.application.uow import UnitOfWork, UnitOfWorkFactory
from sono.domain.announcements import Announcement
from sono.domain.audio import AudioFile
from sono.domain.collections import Collaborator, Collection, CollectionTrack, CollectionType, Permission
from sono.domain.errors import Conflict
from sono.domain.gdpr import AuditEntry, Consent, DeletionRequest, DeletionStatus, DeletionType
from sono.domain.maintenance import DEFAULT_MESSAGE, MaintenanceState
from sono.domain.sessions import PasswordResetToken, RefreshFamily
from sono.domain.users import User
from tests.fakes.repositories import ForeignKeyViolation
from tests.fakes.uow import FakeUnitOfWorkFactory

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


# --------------------------------------------------------------------------- builders


def a_user(name: str, created_at: datetime = NOW, **fields: Any) -> User:
    return User(username=name, email=f"{name}@example.com", password_hash="hash", created_at=created_at, **fields)


def an_audio(owner: User, title: str = "song", *, upload_date: datetime = NOW, **fields: Any) -> AudioFile:
    return AudioFile(
        owner_id=owner.id,
        title=title,
        original_filename=f"{title}.mp3",
        storage_key=f"audio/{owner.id}/{title}.mp3",
        content_type="audio/mpeg",
        file_size=1000,
        format="mp3",
        upload_date=upload_date,
        **fields,
    )


def a_collection(owner: User, title: str = "mix", *, created_date: datetime = NOW, **fields: Any) -> Collection:
    fields.setdefault("collection_type", CollectionType.PLAYLIST)
    return Collection(owner_id=owner.id, title=title, created_date=created_date, **fields)


def a_family(user: User, family_id: str = "f" * 32, **fields: Any) -> RefreshFamily:
    fields.setdefault("expires_at", NOW + 7 * 24 * HOUR)
    return RefreshFamily(id=family_id, user_id=user.id, current_jti="jti-0", created_at=NOW, **fields)


def a_deletion(user: User, **fields: Any) -> DeletionRequest:
    fields.setdefault("requested_at", NOW)
    fields.setdefault("scheduled_for", NOW + 7 * 24 * HOUR)
    fields.setdefault("deletion_type", DeletionType.HARD)
    return DeletionRequest(user_id=user.id, **fields)


async def add_users(uows: UnitOfWorkFactory, *names: str, **fields: Any) -> list[User]:
    async with uows() as uow:
        users = [await uow.users.add(a_user(name, **fields)) for name in names]
        await uow.commit()
    return users


async def add_all(uows: UnitOfWorkFactory, adder: str, *rows: Any) -> list[Any]:
    """Add ``rows`` with ``uow.<adder>`` (e.g. ``"audio_files.add"``) and commit."""
    async with uows() as uow:
        repository_name, method = adder.split(".")
        add = getattr(getattr(uow, repository_name), method)
        added = [await add(row) for row in rows]
        await uow.commit()
    return added


async def save_and_commit(uow: UnitOfWork, collection: Collection) -> None:
    await uow.collections.save(collection)
    await uow.commit()


def ids(rows: list[Any]) -> list[int]:
    return [row.id for row in rows]


# --------------------------------------------------------------------------- users and the unit of work


async def test_users_are_found_by_id_username_email_and_login(uows: UnitOfWorkFactory) -> None:
    (alice,) = await add_users(uows, "alice")
    assert isinstance(alice.id, int)
    async with uows() as uow:
        assert (await uow.users.get(alice.id)).username == "alice"
        assert (await uow.users.get(alice.id, for_update=True)).username == "alice"
        assert (await uow.users.get_by_username("alice")).id == alice.id
        assert (await uow.users.get_by_username("ALICE")).id == alice.id  # case-insensitive, spelling kept
        assert (await uow.users.get_by_email(" ALICE@Example.COM ")).id == alice.id
        assert (await uow.users.get_by_login("alice")).id == alice.id
        assert (await uow.users.get_by_login("Alice@EXAMPLE.com")).id == alice.id
        assert await uow.users.get_by_login("bob") is None
        assert await uow.users.get(alice.id + 100) is None


async def test_get_by_login_prefers_the_username(uows: UnitOfWorkFactory) -> None:
    async with uows() as uow:
        await uow.users.add(User(username="first", email="same@example.com", password_hash="h"))
        second = await uow.users.add(User(username="same@example.com", email="x@example.com", password_hash="h"))
        await uow.commit()
    async with uows() as uow:
        assert (await uow.users.get_by_login("same@example.com")).id == second.id


async def test_users_come_back_with_every_field_and_aware_utc_times(uows: UnitOfWorkFactory) -> None:
    paris = timezone(timedelta(hours=1))
    user = a_user("alice", created_at=datetime(2026, 1, 1, 13, 0, 0, 123456, tzinfo=paris), bio="hi", token_version=3)
    await add_all(uows, "users.add", user)
    async with uows() as uow:
        stored = await uow.users.get_by_username("alice")
    assert stored.created_at == datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
    if not isinstance(uows, FakeUnitOfWorkFactory):  # the fakes hand back the object as it was given
        assert stored.created_at.utcoffset() == timedelta(0)
    assert (stored.bio, stored.token_version, stored.is_active, stored.max_audio_uploads) == ("hi", 3, True, 20)


async def test_creation_time_defaults_to_now(uows: UnitOfWorkFactory) -> None:
    async with uows() as uow:
        user = await uow.users.add(User(username="alice", email="a@example.com", password_hash="h"))
        await uow.commit()
    async with uows() as uow:
        created = (await uow.users.get(user.id)).created_at
    assert created is not None and created.tzinfo is not None
    assert abs(created - datetime.now(UTC)) < timedelta(minutes=5)


async def test_users_are_searched_by_username_or_display_name(uows: UnitOfWorkFactory) -> None:
    await add_users(uows, "Alice", "bob_smith", "carol")
    await add_all(uows, "users.add", a_user("dave", display_name="Alicia Keys"), a_user("eve_100%", is_active=False))
    await add_all(uows, "users.add", a_user("x_y", display_name="under_score"), a_user("xay", display_name="xay"))
    async with uows() as uow:
        found = await uow.users.search("ALI", skip=0, limit=10)
        assert ([u.username for u in found.items], found.total) == (["Alice", "dave"], 2)
        page = await uow.users.search("a", skip=1, limit=2)
        assert [u.username for u in page.items] == ["carol", "dave"] and page.total == 4 and page.has_more
        assert [u.username for u in (await uow.users.search("_", skip=0, limit=10)).items] == ["bob_smith", "x_y"]
        assert (await uow.users.search("100%", skip=0, limit=10)).total == 0  # inactive users are not found
        assert (await uow.users.search("%", skip=0, limit=10)).total == 0  # wildcards are literal
        assert (await uow.users.search("zzz", skip=5, limit=2)).items == []


async def test_a_taken_email_in_another_case_or_username_conflicts(uows: UnitOfWorkFactory) -> None:
    await add_users(uows, "alice")
    async with uows() as uow:
        with pytest.raises(Conflict) as email_taken:
            await uow.users.add(User(username="other", email="ALICE@example.COM", password_hash="h"))
        with pytest.raises(Conflict) as username_taken:
            await uow.users.add(User(username="ALICE", email="new@example.com", password_hash="h"))
        # the unit of work stays usable after a conflict
        bob = await uow.users.add(User(username="bob", email="bob@example.com", password_hash="h"))
        await uow.commit()
    assert email_taken.value.constraint == "uq_users_email_lower"
    assert username_taken.value.constraint == "uq_users_username_lower"
    async with uows() as uow:
        assert (await uow.users.get_by_username("ALICE")).email == "alice@example.com"
        assert (await uow.users.get(bob.id)).email == "bob@example.com"


async def test_commit_raises_conflict_for_a_changed_attribute(uows: UnitOfWorkFactory) -> None:
    _, bob = await add_users(uows, "alice", "bob")
    async with uows() as uow:
        (await uow.users.get(bob.id)).username = "Alice"
        with pytest.raises(Conflict) as taken:
            await uow.commit()
    assert taken.value.constraint == "uq_users_username_lower"
    async with uows() as uow:
        assert (await uow.users.get(bob.id)).username == "bob"


async def test_changes_to_loaded_objects_are_saved_at_commit(uows: UnitOfWorkFactory) -> None:
    (alice,) = await add_users(uows, "alice")
    async with uows() as uow:
        user = await uow.users.get(alice.id)
        user.display_name = "Alice"
        user.end_all_sessions()
        await uow.commit()
    async with uows() as uow:
        user = await uow.users.get(alice.id)
    assert (user.display_name, user.token_version) == ("Alice", 1)


async def test_leaving_without_commit_or_rolling_back_discards_changes(uows: UnitOfWorkFactory) -> None:
    (alice,) = await add_users(uows, "alice")
    async with uows() as uow:
        await uow.users.add(a_user("ghost"))
        (await uow.users.get(alice.id)).display_name = "changed"
    async with uows() as uow:
        await uow.users.add(a_user("ghost2"))
        await uow.rollback()
        assert await uow.users.get_by_username("ghost2") is None

    async def fail_midway() -> None:
        async with uows() as uow:
            (await uow.users.get(alice.id)).bio = "changed"
            await uow.audit.add(AuditEntry("event", NOW, user_id=alice.id))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        await fail_midway()
    async with uows() as uow:
        assert await uow.users.get_by_username("ghost") is None
        stored = await uow.users.get(alice.id)
        assert (stored.display_name, stored.bio) == (None, None)
        assert await uow.audit.list_for_user(alice.id) == []
        if hasattr(uow, "committed"):
            assert not uow.committed


async def test_loaded_objects_stay_readable_after_the_unit_of_work_ends(uows: UnitOfWorkFactory) -> None:
    (alice,) = await add_users(uows, "alice")
    async with uows() as uow:
        user = await uow.users.get(alice.id)
    assert (user.username, user.created_at) == ("alice", NOW)

    async def conflict() -> User:
        async with uows() as uow:
            user = await uow.users.get(alice.id)
            with pytest.raises(Conflict):
                await uow.users.add(a_user("alice"))
        return user

    assert (await conflict()).email == "alice@example.com"


async def test_a_unit_of_work_is_reusable_after_commit(uows: UnitOfWorkFactory) -> None:
    async with uows() as uow:
        alice = await uow.users.add(a_user("alice"))
        await uow.commit()
        alice.bio = "second transaction"
        await uow.users.add(a_user("bob"))
        await uow.commit()
        if hasattr(uow, "committed"):
            assert uow.committed
        alice.bio = "discarded"
    async with uows() as uow:
        assert (await uow.users.get(alice.id)).bio == "second transaction"
        assert await uow.users.get_by_username("bob") is not None


async def test_a_read_only_unit_of_work_can_read_while_another_one_writes(uows: UnitOfWorkFactory) -> None:
    async with uows() as outer:
        await outer.users.add(a_user("alice"))
        async with uows(read_only=True) as inner:
            assert await inner.maintenance.get() == MaintenanceState()
            assert await inner.users.get_by_username("nobody") is None
        await outer.commit()


async def test_deleting_a_user_removes_what_they_own_and_anonymises_the_rest(uows: UnitOfWorkFactory) -> None:
    owner, other = await add_users(uows, "owner", "other")
    async with uows() as uow:
        own_audio = await uow.audio_files.add(an_audio(owner, "mine"))
        other_audio = await uow.audio_files.add(an_audio(other, "theirs", is_public=True))
        other_audio_2 = await uow.audio_files.add(an_audio(other, "b"))
        own_collection = await uow.collections.add(a_collection(owner, is_collaborative=True))
        own_collection.add_track(other_audio.id, now=NOW, added_by_id=owner.id)
        own_collection.add_collaborator(other.id, Permission.VIEW, now=NOW, added_by_id=owner.id)
        await uow.collections.save(own_collection)
        other_collection = await uow.collections.add(a_collection(other, is_collaborative=True))
        other_collection.add_track(other_audio.id, now=NOW, added_by_id=other.id)
        other_collection.add_track(own_audio.id, now=NOW, added_by_id=other.id)
        other_collection.add_track(other_audio_2.id, now=NOW, added_by_id=owner.id)
        other_collection.add_collaborator(owner.id, Permission.EDIT, now=NOW, added_by_id=other.id)
        await uow.collections.save(other_collection)
        await uow.consents.add(Consent(owner.id, "terms", "1", NOW))
        await uow.deletions.add(a_deletion(owner))
        await uow.families.add(a_family(owner))
        await uow.reset_tokens.add(PasswordResetToken(owner.id, "hash", NOW, NOW + HOUR))
        await uow.pending_objects.add("audio/1/pending.mp3", NOW)
        await uow.audit.add(AuditEntry("about", NOW, user_id=owner.id, ip_address="10.0.0.1"))
        await uow.audit.add(AuditEntry("by", NOW, user_id=other.id, actor_id=owner.id))
        announcement = await uow.announcements.add(Announcement("News", "text", created_by_id=owner.id))
        await uow.maintenance.set(MaintenanceState(True, "down", NOW, owner.id))
        await uow.commit()
    first_track, _, added_by_owner = other_collection.tracks

    async with uows() as uow:
        held = await uow.collections.get(other_collection.id)
        entries = await uow.audit.list_for_user(other.id)
        await uow.users.delete(await uow.users.get(owner.id))
        # in the same unit of work, what the database deleted is gone and references are cleared
        assert await uow.audio_files.get(own_audio.id) is None
        assert await uow.collections.get(own_collection.id) is None
        assert [t.audio_file_id for t in held.tracks] == [other_audio.id, other_audio_2.id]
        assert [t.added_by_id for t in held.tracks] == [other.id, None]
        assert held.collaborators == []
        assert entries[-1].actor_id is None
        await uow.commit()

    async with uows() as uow:
        assert await uow.users.get(owner.id) is None
        assert await uow.audio_files.get(own_audio.id) is None
        assert await uow.collections.get(own_collection.id) is None
        stored = await uow.collections.get(other_collection.id)
        assert ids(stored.tracks) == [first_track.id, added_by_owner.id]
        assert stored.tracks[1].added_by_id is None
        assert stored.collaborators == []
        assert await uow.consents.list_for_user(owner.id) == []
        assert await uow.deletions.list_for_user(owner.id) == []
        assert await uow.families.get("f" * 32) is None
        assert await uow.reset_tokens.get_by_hash("hash") is None
        assert await uow.audit.list_for_user(owner.id) == []
        (by_owner,) = await uow.audit.list_for_user(other.id)
        assert (by_owner.event, by_owner.user_id, by_owner.actor_id) == ("by", other.id, None)
        assert (await uow.announcements.get(announcement.id)).created_by_id is None
        assert (await uow.maintenance.get()).updated_by_id is None
        assert (await uow.users.get(other.id)).username == "other"


async def test_rows_must_point_at_existing_parents(uows: UnitOfWorkFactory) -> None:
    async with uows() as uow:
        with pytest.raises((ForeignKeyViolation, IntegrityError)):
            await uow.audio_files.add(an_audio(User("ghost", "g@example.com", "h", id=12345)))


# --------------------------------------------------------------------------- sessions and tokens


async def test_rotate_is_a_compare_and_swap(uows: UnitOfWorkFactory) -> None:
    (alice,) = await add_users(uows, "alice")
    await add_all(uows, "families.add", a_family(alice))
    async with uows() as uow:
        family = await uow.families.get("f" * 32)
        assert await uow.families.rotate(family.id, "jti-0", "jti-1", NOW)
        assert family.current_jti == "jti-1"  # objects already loaded see the new value
        assert not await uow.families.rotate(family.id, "jti-0", "jti-x", NOW)
        assert await uow.families.rotate(family.id, "jti-1", "jti-2", NOW + HOUR)
        await uow.commit()
    async with uows() as uow:
        family = await uow.families.get("f" * 32)
        assert (family.current_jti, family.previous_jti, family.last_rotated_at) == ("jti-2", "jti-1", NOW + HOUR)
        family.revoke(NOW, "logout")
        await uow.commit()
    async with uows() as uow:
        assert not await uow.families.rotate("f" * 32, "jti-2", "jti-3", NOW)
        assert not await uow.families.rotate("unknown", "jti-2", "jti-3", NOW)


async def test_concurrent_rotations_have_exactly_one_winner(uows: UnitOfWorkFactory) -> None:
    (alice,) = await add_users(uows, "alice")
    await add_all(uows, "families.add", a_family(alice))

    async def rotate(new_jti: str) -> bool:
        async with uows() as uow:
            won = await uow.families.rotate("f" * 32, "jti-0", new_jti, NOW)
            await asyncio.sleep(0)  # let the others try while this one holds the row lock
            await uow.commit()
            return won

    results = await asyncio.gather(rotate("a"), rotate("b"), rotate("c"))
    assert sorted(results) == [False, False, True]
    async with uows() as uow:
        assert (await uow.families.get("f" * 32)).current_jti == "abc"[results.index(True)]


async def test_families_are_revoked_per_user_and_expire(uows: UnitOfWorkFactory) -> None:
    alice, bob = await add_users(uows, "alice", "bob")
    await add_all(
        uows,
        "families.add",
        a_family(alice, "a1"),
        a_family(alice, "a2", revoked_at=NOW - HOUR, revoked_reason="old"),
        a_family(alice, "a3", expires_at=NOW - HOUR),
        a_family(bob, "b1"),
    )
    async with uows() as uow:
        assert await uow.families.revoke_all_for_user(alice.id, NOW, "password_reset") == 2
        assert await uow.families.delete_expired(NOW) == 1
        await uow.commit()
    async with uows() as uow:
        a1, a2, a3, b1 = [await uow.families.get(i) for i in ("a1", "a2", "a3", "b1")]
    assert (a1.revoked_at, a1.revoked_reason, a1.is_revoked) == (NOW, "password_reset", True)
    assert (a2.revoked_at, a2.revoked_reason) == (NOW - HOUR, "old")
    assert a3 is None
    assert not b1.is_revoked


async def test_reset_tokens(uows: UnitOfWorkFactory) -> None:
    alice, bob = await add_users(uows, "alice", "bob")
    first, *_ = await add_all(
        uows,
        "reset_tokens.add",
        PasswordResetToken(alice.id, "h1", NOW, NOW + HOUR),
        PasswordResetToken(alice.id, "h2", NOW, NOW + HOUR),
        PasswordResetToken(alice.id, "h3", NOW - 2 * HOUR, NOW - HOUR),
        PasswordResetToken(bob.id, "h4", NOW, NOW + HOUR),
    )
    async with uows() as uow:
        with pytest.raises(Conflict) as duplicate:
            await uow.reset_tokens.add(PasswordResetToken(bob.id, "h1", NOW, NOW + HOUR))
        assert duplicate.value.constraint == "uq_password_reset_tokens_token_hash"
        token = await uow.reset_tokens.get_by_hash("h1")
        assert (token.id, token.user_id, token.expires_at) == (first.id, alice.id, NOW + HOUR)
        assert await uow.reset_tokens.get_by_hash("nope") is None
        assert await uow.reset_tokens.consume(first.id, NOW)
        assert not await uow.reset_tokens.consume(first.id, NOW)
        assert token.used_at == NOW
        assert await uow.reset_tokens.invalidate_for_user(alice.id, NOW + timedelta(minutes=1)) == 2
        await uow.commit()
    async with uows() as uow:
        assert (await uow.reset_tokens.get_by_hash("h2")).used_at == NOW + timedelta(minutes=1)
        assert (await uow.reset_tokens.get_by_hash("h4")).used_at is None
        assert await uow.reset_tokens.delete_expired(NOW + timedelta(minutes=2)) == 3
        await uow.commit()
    async with uows() as uow:
        assert [await uow.reset_tokens.get_by_hash(h) is not None for h in ("h1", "h2", "h3", "h4")] == [
            False,
            False,
            False,
            True,
        ]


# --------------------------------------------------------------------------- GDPR


async def test_consents_newest_first_and_active_of_type(uows: UnitOfWorkFactory) -> None:
    alice, bob = await add_users(uows, "alice", "bob")
    old, withdrawn, new, marketing, _ = await add_all(
        uows,
        "consents.add",
        Consent(alice.id, "terms", "1", NOW - 2 * HOUR),
        Consent(alice.id, "terms", "0", NOW - 3 * HOUR, withdrawn_at=NOW - 2 * HOUR),
        Consent(alice.id, "terms", "2", NOW, ip_address="10.0.0.1"),
        Consent(alice.id, "marketing", "1", NOW - HOUR),
        Consent(bob.id, "terms", "2", NOW),
    )
    async with uows() as uow:
        assert ids(await uow.consents.list_for_user(alice.id)) == ids([new, marketing, old, withdrawn])
        assert ids(await uow.consents.active_of_type(alice.id, "terms")) == ids([new, old])
        assert (await uow.consents.list_for_user(alice.id))[0].ip_address == "10.0.0.1"


async def test_one_pending_deletion_per_user(uows: UnitOfWorkFactory) -> None:
    alice, bob = await add_users(uows, "alice", "bob")
    (pending,) = await add_all(uows, "deletions.add", a_deletion(alice, reason="bye"))
    async with uows() as uow:
        with pytest.raises(Conflict) as second:
            await uow.deletions.add(a_deletion(alice))
        await uow.deletions.add(a_deletion(alice, status=DeletionStatus.CANCELLED, cancelled_at=NOW))
        await uow.deletions.add(a_deletion(bob))
        await uow.commit()
    assert second.value.constraint == "uq_deletion_requests_pending"
    async with uows() as uow:
        request = await uow.deletions.pending_for_user(alice.id)
        assert (request.id, request.reason, request.deletion_type) == (pending.id, "bye", DeletionType.HARD)
        assert isinstance(request.status, DeletionStatus)
        request.status = DeletionStatus.CANCELLED
        await uow.commit()
    async with uows() as uow:
        assert await uow.deletions.pending_for_user(alice.id) is None
        again = await uow.deletions.add(a_deletion(alice, requested_at=NOW + HOUR, deletion_type=DeletionType.SOFT))
        await uow.commit()
    async with uows() as uow:
        latest = (await uow.deletions.list_for_user(alice.id))[0]
        assert (latest.id, latest.deletion_type) == (again.id, DeletionType.SOFT)
        assert len(await uow.deletions.list_for_user(alice.id)) == 3
        assert await uow.deletions.list_for_user(bob.id + 100) == []


async def test_claim_due_returns_pending_requests_whose_time_has_come(uows: UnitOfWorkFactory) -> None:
    alice, bob, carol, dave = await add_users(uows, "alice", "bob", "carol", "dave")
    early, late, _, _ = await add_all(
        uows,
        "deletions.add",
        a_deletion(alice, scheduled_for=NOW - 2 * HOUR),
        a_deletion(bob, scheduled_for=NOW),
        a_deletion(carol, scheduled_for=NOW + HOUR),
        a_deletion(dave, scheduled_for=NOW - HOUR, status=DeletionStatus.CANCELLED),
    )
    async with uows() as uow:
        assert ids(await uow.deletions.claim_due(NOW, 10)) == ids([early, late])
        assert ids(await uow.deletions.claim_due(NOW, 1)) == ids([early])


async def test_audit_log_lists_and_anonymises_a_users_entries(uows: UnitOfWorkFactory) -> None:
    alice, admin = await add_users(uows, "alice", "admin")
    await add_all(
        uows,
        "audit.add",
        AuditEntry("about", NOW, user_id=alice.id, actor_id=admin.id, ip_address="10.0.0.1", details={"k": [1]}),
        AuditEntry("by", NOW, user_id=admin.id, actor_id=alice.id, ip_address="10.0.0.2", details={"k": "v"}),
        AuditEntry("unrelated", NOW, user_id=admin.id, ip_address="10.0.0.3", details={"k": "v"}),
        AuditEntry("older", NOW - HOUR, user_id=alice.id),
    )
    async with uows() as uow:
        entries = await uow.audit.list_for_user(alice.id)
        assert [e.event for e in entries] == ["by", "about", "older"]
        assert entries[1].details == {"k": [1]}
        await uow.audit.anonymise_user(alice.id)
        await uow.commit()
    async with uows() as uow:
        assert await uow.audit.list_for_user(alice.id) == []
        entries = {e.event: e for e in await uow.audit.list_for_user(admin.id)}
    assert (entries["about"].user_id, entries["about"].actor_id) == (None, admin.id)
    assert (entries["about"].ip_address, entries["about"].details, entries["about"].created_at) == (None, {}, NOW)
    assert (entries["by"].user_id, entries["by"].actor_id, entries["by"].ip_address) == (admin.id, None, None)
    assert (entries["unrelated"].ip_address, entries["unrelated"].details) == ("10.0.0.3", {"k": "v"})


# --------------------------------------------------------------------------- media


async def test_audio_files(uows: UnitOfWorkFactory) -> None:
    alice, bob = await add_users(uows, "alice", "bob")
    (inactive,) = await add_users(uows, "gone", is_active=False)
    old, new, private, other, hidden = await add_all(
        uows,
        "audio_files.add",
        an_audio(alice, "old", is_public=True, upload_date=NOW - HOUR, duration=10.5),
        an_audio(alice, "new", is_public=True),
        an_audio(alice, "private"),
        an_audio(bob, "other", is_public=True),
        an_audio(inactive, "hidden", is_public=True),
    )
    async with uows() as uow:
        every = await uow.audio_files.listing(skip=0, limit=10)
        assert (ids([e.audio for e in every.items]), every.total) == (
            [hidden.id, other.id, private.id, new.id, old.id],
            5,
        )
        second = await uow.audio_files.listing(skip=1, limit=1)
        assert (ids([e.audio for e in second.items]), second.total) == ([other.id], 5)
        mine = await uow.audio_files.listing(owner_id=alice.id, skip=0, limit=10)
        assert (ids([e.audio for e in mine.items]), mine.total) == ([private.id, new.id, old.id], 3)
        assert ids((await uow.audio_files.list_for_owner(alice.id, skip=0, limit=10)).items) == ids([private, new, old])
        assert await uow.audio_files.ids_for_owner(alice.id) == ids([old, new, private])
        assert await uow.audio_files.count_for_owner(alice.id) == 3
        assert await uow.audio_files.count_for_owner(bob.id + 100) == 0
        assert await uow.audio_files.total_bytes_for_owner(alice.id) == 3000
        assert await uow.audio_files.total_bytes_for_owner(bob.id + 100) == 0
        assert await uow.audio_files.keys_for_owner(alice.id) == [a.storage_key for a in (old, new, private)]
        many = await uow.audio_files.get_many([old.id, hidden.id, 999_999])
        assert sorted(many) == sorted([old.id, hidden.id])
        assert many[old.id].duration == 10.5
        assert await uow.audio_files.get_many([]) == {}
        await uow.audio_files.delete(await uow.audio_files.get(other.id))
        assert sorted(await uow.audio_files.delete_for_owner(alice.id)) == sorted(
            a.storage_key for a in (old, new, private)
        )
        await uow.commit()
    async with uows() as uow:
        assert await uow.audio_files.get(other.id) is None
        assert await uow.audio_files.ids_for_owner(alice.id) == []
        assert (await uow.audio_files.get(hidden.id)).title == "hidden"


# --------------------------------------------------------------------------- collections


async def test_a_collection_comes_back_whole_with_ordered_tracks_and_collaborators(uows: UnitOfWorkFactory) -> None:
    owner, member, other = await add_users(uows, "owner", "member", "other")
    songs = await add_all(uows, "audio_files.add", *(an_audio(owner, f"s{i}") for i in range(3)))
    async with uows() as uow:
        mix = await uow.collections.add(a_collection(owner, "mix", is_collaborative=True))
        for song in songs:
            mix.add_track(song.id, now=NOW, added_by_id=owner.id)
        mix.add_collaborator(member.id, Permission.EDIT, now=NOW, added_by_id=owner.id)
        await uow.collections.save(mix)
        await uow.commit()
    assert all(isinstance(t.id, int) for t in mix.tracks) and isinstance(mix.collaborators[0].id, int)
    async with uows() as uow:
        loaded = await uow.collections.get(mix.id)
        assert loaded is not None and loaded.collection_type is CollectionType.PLAYLIST
        assert [(t.audio_file_id, t.track_order) for t in loaded.tracks] == [(s.id, i) for i, s in enumerate(songs, 1)]
        assert all(t.collection_id == mix.id and t.added_by_id == owner.id for t in loaded.tracks)
        (collaborator,) = loaded.collaborators
        assert (collaborator.user_id, collaborator.permission_level) == (member.id, Permission.EDIT)
        assert isinstance(collaborator.permission_level, Permission)
        assert (await uow.collections.get(mix.id, for_update=True)) is loaded
        assert await uow.collections.get(mix.id + 1000) is None
        assert ids(await uow.collections.member_of(member.id)) == [mix.id]
        assert await uow.collections.member_of(other.id) == []


async def test_any_reordering_is_saved_without_tripping_the_unique_positions(uows: UnitOfWorkFactory) -> None:
    (alice,) = await add_users(uows, "alice")
    songs = await add_all(uows, "audio_files.add", *(an_audio(alice, f"s{i}") for i in range(5)))
    async with uows() as uow:
        mix = await uow.collections.add(a_collection(alice, "mix"))
        mix.add_tracks([s.id for s in songs[:4]], now=NOW, added_by_id=alice.id)
        await uow.collections.save(mix)
        await uow.commit()
    expected = [s.id for s in songs[:4]]
    steps = [
        lambda c: c.move_track(c.tracks[0].id, 4),
        lambda c: c.move_track(c.tracks[3].id, 1),
        lambda c: c.add_track(songs[4].id, now=NOW, added_by_id=alice.id, position=1),
        lambda c: c.remove_track(c.tracks[2].id),
        lambda c: c.tracks.reverse() or c._renumber(),
    ]
    model_steps = [
        lambda m: m.append(m.pop(0)),
        lambda m: m.insert(0, m.pop()),
        lambda m: m.insert(0, songs[4].id),
        lambda m: m.pop(2),
        lambda m: m.reverse(),
    ]
    for step, model in zip(steps, model_steps, strict=True):
        async with uows() as uow:
            collection = await uow.collections.get(mix.id, for_update=True)
            step(collection)
            await uow.collections.save(collection)
            await uow.commit()
        model(expected)
        async with uows() as uow:
            stored = await uow.collections.get(mix.id)
            assert [t.audio_file_id for t in stored.tracks] == expected
            assert [t.track_order for t in stored.tracks] == list(range(1, len(expected) + 1))


async def test_the_database_refuses_duplicate_tracks_and_collaborators(uows: UnitOfWorkFactory) -> None:
    """The aggregate's rules come first; the constraints are the last line of defence."""
    owner, member = await add_users(uows, "owner", "member")
    (song,) = await add_all(uows, "audio_files.add", an_audio(owner))
    (mix,) = await add_all(uows, "collections.add", a_collection(owner, "mix", is_collaborative=True))
    async with uows() as uow:
        collection = await uow.collections.get(mix.id)
        collection.add_track(song.id, now=NOW, added_by_id=owner.id)
        collection.tracks.append(CollectionTrack(mix.id, song.id, 2))  # around the aggregate's rule
        with pytest.raises(Conflict) as same_audio:
            await save_and_commit(uow, collection)
    assert same_audio.value.constraint == "uq_collection_tracks_collection_id_audio_file_id"
    async with uows() as uow:
        collection = await uow.collections.get(mix.id)
        collection.add_collaborator(member.id, Permission.VIEW, now=NOW, added_by_id=owner.id)
        collection.collaborators.append(Collaborator(mix.id, member.id, Permission.EDIT))
        with pytest.raises(Conflict) as same_member:
            await save_and_commit(uow, collection)
    assert same_member.value.constraint == "uq_collaborators_collection_id_user_id"
    async with uows() as uow:
        stored = await uow.collections.get(mix.id)
        assert (stored.tracks, stored.collaborators) == ([], [])


async def test_collections_holding_audio_files_and_closing_their_gaps(uows: UnitOfWorkFactory) -> None:
    owner, other = await add_users(uows, "owner", "other")
    mine, theirs, spare = await add_all(
        uows, "audio_files.add", an_audio(owner, "mine"), an_audio(other, "theirs"), an_audio(other, "spare")
    )
    async with uows() as uow:
        holding = await uow.collections.add(a_collection(other, "holding"))
        holding.add_tracks([theirs.id, mine.id, spare.id], now=NOW, added_by_id=other.id)
        await uow.collections.save(holding)
        unrelated = await uow.collections.add(a_collection(other, "unrelated"))
        unrelated.add_track(spare.id, now=NOW, added_by_id=other.id)
        await uow.collections.save(unrelated)
        await uow.commit()
    async with uows() as uow:
        assert ids(await uow.collections.containing_audio([mine.id])) == [holding.id]
        assert ids(await uow.collections.containing_audio([mine.id, spare.id])) == [holding.id, unrelated.id]
        assert await uow.collections.containing_audio([]) == []
        for collection in await uow.collections.containing_audio([mine.id]):
            assert collection.remove_audio([mine.id]) == 1
            await uow.collections.save(collection)
        await uow.audio_files.delete(await uow.audio_files.get(mine.id))
        await uow.commit()
    async with uows() as uow:
        stored = await uow.collections.get(holding.id)
        assert [(t.audio_file_id, t.track_order) for t in stored.tracks] == [(theirs.id, 1), (spare.id, 2)]


async def test_deleting_collections(uows: UnitOfWorkFactory) -> None:
    owner, member = await add_users(uows, "owner", "member")
    (song,) = await add_all(uows, "audio_files.add", an_audio(owner))
    async with uows() as uow:
        first = await uow.collections.add(a_collection(owner, "a", cover_art_key="covers/a.png"))
        first.add_track(song.id, now=NOW, added_by_id=owner.id)
        await uow.collections.save(first)
        await uow.collections.add(a_collection(owner, "b", created_date=NOW + HOUR))
        third = await uow.collections.add(
            a_collection(owner, "c", cover_art_key="covers/c.png", is_collaborative=True, created_date=NOW + 2 * HOUR)
        )
        third.add_collaborator(member.id, Permission.VIEW, now=NOW, added_by_id=owner.id)
        await uow.collections.save(third)
        await uow.commit()
    async with uows() as uow:
        assert [c.title for c in await uow.collections.owned_by(owner.id)] == ["c", "b", "a"]
        assert await uow.collections.cover_keys_for_owner(owner.id) == ["covers/a.png", "covers/c.png"]
        await uow.collections.delete(await uow.collections.get(first.id))
        assert await uow.collections.get(first.id) is None
        assert sorted(await uow.collections.delete_for_owner(owner.id)) == ["covers/c.png"]
        await uow.commit()
    async with uows() as uow:
        assert await uow.collections.owned_by(owner.id) == []
        assert await uow.collections.member_of(member.id) == []
        assert await uow.audio_files.get(song.id) is not None


# --------------------------------------------------------------------------- announcements and maintenance


async def test_announcements_ordering(uows: UnitOfWorkFactory) -> None:
    (admin,) = await add_users(uows, "admin")
    first, second, draft = await add_all(
        uows,
        "announcements.add",
        Announcement("first", "text", True, admin.id, NOW - 2 * HOUR, published_date=NOW),
        Announcement("second", "text", True, admin.id, NOW - HOUR, published_date=NOW - HOUR),
        Announcement("draft", "text", created_date=NOW),
    )
    async with uows() as uow:
        published = await uow.announcements.list(published_only=True, skip=0, limit=10)
        assert (ids(list(published.items)), published.total) == ([first.id, second.id], 2)
        every = await uow.announcements.list(published_only=False, skip=0, limit=10)
        assert ids(list(every.items)) == ids([draft, second, first])
        last = await uow.announcements.list(published_only=False, skip=2, limit=1)
        assert (ids(list(last.items)), last.total, last.has_more) == ([first.id], 3, False)
        stored = await uow.announcements.get(draft.id)
        stored.set_published(True, NOW + HOUR)
        await uow.commit()
    async with uows() as uow:
        assert ids(list((await uow.announcements.list(published_only=True, skip=0, limit=1)).items)) == [draft.id]
        await uow.announcements.delete(await uow.announcements.get(draft.id))
        await uow.commit()
    async with uows() as uow:
        assert await uow.announcements.get(draft.id) is None


async def test_maintenance_state_defaults_and_round_trips(uows: UnitOfWorkFactory) -> None:
    (admin,) = await add_users(uows, "admin")
    async with uows() as uow:
        assert await uow.maintenance.get() == MaintenanceState(False, DEFAULT_MESSAGE, None, None)
        assert (await uow.maintenance.get()).message == "Service temporarily unavailable for maintenance"
        await uow.maintenance.set(MaintenanceState(True, "Back soon", NOW, admin.id))
        await uow.commit()
    async with uows() as uow:
        assert await uow.maintenance.get() == MaintenanceState(True, "Back soon", NOW, admin.id)
        await uow.maintenance.set(MaintenanceState(False, DEFAULT_MESSAGE, NOW + HOUR, None))
    async with uows() as uow:
        assert await uow.maintenance.get() == MaintenanceState(True, "Back soon", NOW, admin.id)
        await uow.maintenance.set(MaintenanceState(False, DEFAULT_MESSAGE, NOW + HOUR, None))
        await uow.commit()
    async with uows() as uow:
        assert await uow.maintenance.get() == MaintenanceState(False, DEFAULT_MESSAGE, NOW + HOUR, None)


# --------------------------------------------------------------------------- concurrency


async def test_concurrent_writers_all_succeed(uows: UnitOfWorkFactory) -> None:
    """Read-then-write transactions running at once (SQLite: no "database is locked")."""
    (alice,) = await add_users(uows, "alice")

    async def bump(uow_index: int) -> None:
        async with uows() as uow:
            user = await uow.users.get(alice.id, for_update=True)
            await asyncio.sleep(0)  # let the others start while this one holds the lock
            user.token_version += 1
            await uow.audit.add(AuditEntry(f"bump {uow_index}", NOW, user_id=alice.id))
            await uow.commit()

    await asyncio.gather(*(bump(i) for i in range(5)))
    async with uows() as uow:
        assert (await uow.users.get(alice.id)).token_version == 5
        assert len(await uow.audit.list_for_user(alice.id)) == 5


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")


async def test_ping_answers_while_a_writer_holds_the_lock(sql_url: str) -> None:
    await migrate.upgrade(sql_url)
    engine = create_engine(sql_url)
    uows = SqlUnitOfWorkFactory(engine)
    try:
        async with uows() as uow:
            await uow.users.add(a_user("alice"))
            await asyncio.wait_for(ping(engine), timeout=2)
    finally:
        await engine.dispose()


async def test_the_sqlite_file_directory_is_created(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'new' / 'dir' / 'sono.db'}")
    try:
        await ping(engine)
    finally:
        await engine.dispose()
    assert (tmp_path / "new" / "dir" / "sono.db").is_file()


@pytest.mark.postgres
async def test_claim_due_skips_requests_claimed_by_another_transaction(postgres_url: str) -> None:
    await migrate.upgrade(postgres_url)
    engine = create_engine(postgres_url)
    uows = SqlUnitOfWorkFactory(engine)
    try:
        alice, bob = await add_users(uows, "alice", "bob")
        await add_all(uows, "deletions.add", a_deletion(alice, scheduled_for=NOW), a_deletion(bob, scheduled_for=NOW))
        first: UnitOfWork
        async with uows() as first, uows() as second:
            claimed_first = await first.deletions.claim_due(NOW, 1)
            claimed_second = await second.deletions.claim_due(NOW, 10)
            assert [r.user_id for r in claimed_first + claimed_second] == [alice.id, bob.id]
    finally:
        await engine.dispose()
