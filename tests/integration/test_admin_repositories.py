"""The admin read side and the announcement authors, as one contract run on the in-memory fakes,
SQLite and PostgreSQL (``SONO_TEST_POSTGRES_URL``): the fakes must count what the database counts."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sono.application.admin.ports import CatalogueStats, Usage
from sono.application.uow import UnitOfWorkFactory
from sono.domain.announcements import Announcement
from sono.domain.audio import AudioFile
from sono.domain.collections import Collection, CollectionType
from sono.domain.users import User

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
_KEYS = itertools.count()


async def add_user(uows: UnitOfWorkFactory, name: str, *, hours_ago: int = 0, **fields: Any) -> User:
    user = User(
        username=name, email=f"{name}@example.com", password_hash="h", created_at=NOW - hours_ago * HOUR, **fields
    )
    async with uows() as uow:
        await uow.users.add(user)
        await uow.commit()
    return user


async def add_audio(uows: UnitOfWorkFactory, owner: User, size: int) -> AudioFile:
    audio = AudioFile(
        owner_id=owner.id,  # type: ignore[arg-type]
        title="song",
        original_filename="song.mp3",
        storage_key=f"audio/{owner.id}/{next(_KEYS)}.mp3",
        content_type="audio/mpeg",
        file_size=size,
        format="mp3",
        upload_date=NOW,
    )
    async with uows() as uow:
        await uow.audio_files.add(audio)
        await uow.commit()
    return audio


async def add_collection(uows: UnitOfWorkFactory, owner: User, kind: CollectionType, **fields: Any) -> None:
    async with uows() as uow:
        await uow.collections.add(
            Collection(owner_id=owner.id, title="c", collection_type=kind, created_date=NOW, **fields)  # type: ignore[arg-type]
        )
        await uow.commit()


async def test_stats_of_an_empty_catalogue_are_zeros(uows: UnitOfWorkFactory) -> None:
    async with uows(read_only=True) as uow:
        assert await uow.admin_queries.stats() == CatalogueStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)


async def test_stats_count_users_files_bytes_and_collections(uows: UnitOfWorkFactory) -> None:
    admin = await add_user(uows, "admin", is_superuser=True)
    alice = await add_user(uows, "alice")
    await add_user(uows, "gone", is_active=False)
    await add_user(uows, "gone_admin", is_active=False, is_superuser=True)
    await add_audio(uows, alice, 4_000_000_000)
    await add_audio(uows, alice, 1)
    await add_audio(uows, admin, 2)
    await add_collection(uows, alice, CollectionType.ALBUM, artist="A", is_public=True)
    await add_collection(uows, alice, CollectionType.PLAYLIST, is_collaborative=True, is_public=True)
    await add_collection(uows, admin, CollectionType.PLAYLIST)
    await add_collection(uows, admin, CollectionType.COMPILATION, is_collaborative=True)

    async with uows(read_only=True) as uow:
        stats = await uow.admin_queries.stats()
    assert stats == CatalogueStats(
        total_users=4,
        active_users=2,
        superusers=2,
        total_audio_files=3,
        total_storage_bytes=4_000_000_003,
        total_collections=4,
        total_albums=1,
        total_playlists=2,
        total_compilations=1,
        public_collections=2,
        collaborative_collections=2,
    )
    assert stats.inactive_users == 2


async def test_stats_follow_every_change_cascades_included(uows: UnitOfWorkFactory) -> None:
    """On SQL the statistics are counters kept by triggers: they follow updates of the counted
    columns, deletions, and the rows a deleted user takes along."""
    users = [await add_user(uows, f"user{i}") for i in range(20)]  # every shard of 16, some twice
    for user in users:
        await add_audio(uows, user, 100)
        await add_collection(uows, user, CollectionType.PLAYLIST)
    leaving, demoted = users[3], users[19]
    async with uows() as uow:
        gone = await uow.users.get(leaving.id)  # type: ignore[arg-type]
        await uow.users.delete(gone)  # its audio file and collection go with it
        promoted = await uow.users.get(demoted.id)  # type: ignore[arg-type]
        promoted.is_superuser = True
        promoted.is_active = False
        promoted.bio = "no counter moves for this"
        (collection,) = await uow.collections.owned_by(users[5].id)  # type: ignore[arg-type]
        collection.collection_type = CollectionType.ALBUM
        collection.artist = "A"
        collection.is_public = True
        audio = (await uow.audio_files.list_for_owner(users[6].id, skip=0, limit=1)).items[0]  # type: ignore[arg-type]
        await uow.audio_files.delete(audio)
        await uow.commit()

    async with uows(read_only=True) as uow:
        stats = await uow.admin_queries.stats()
    assert stats == CatalogueStats(
        total_users=19,
        active_users=18,
        superusers=1,
        total_audio_files=18,
        total_storage_bytes=1800,
        total_collections=19,
        total_albums=1,
        total_playlists=18,
        total_compilations=0,
        public_collections=1,
        collaborative_collections=0,
    )


async def test_users_are_listed_newest_first_and_searched(uows: UnitOfWorkFactory) -> None:
    old = await add_user(uows, "old_timer", hours_ago=5, display_name="Grand Père")
    mid = await add_user(uows, "Middle", hours_ago=3)
    same_a = await add_user(uows, "same_a", hours_ago=1, is_active=False)
    same_b = await add_user(uows, "same_b", hours_ago=1)

    async def listed(query: str | None = None, skip: int = 0, limit: int = 10) -> tuple[list[int | None], int]:
        async with uows(read_only=True) as uow:
            page = await uow.admin_queries.users(query=query, skip=skip, limit=limit)
        return [user.id for user in page.items], page.total

    assert await listed() == ([same_b.id, same_a.id, mid.id, old.id], 4)
    assert await listed(skip=1, limit=2) == ([same_a.id, mid.id], 4)
    assert await listed(skip=9) == ([], 4)
    assert await listed("MIDDLE") == ([mid.id], 1)
    assert await listed("middle@EXAMPLE") == ([mid.id], 1)
    assert await listed("père") == ([old.id], 1)
    assert await listed("same") == ([same_b.id, same_a.id], 2)
    assert await listed("e_a") == ([same_a.id], 1)  # "_" literal
    assert await listed("%") == ([], 0)
    assert await listed("\\") == ([], 0)
    assert await listed("same", limit=1) == ([same_b.id], 2)


async def test_usage_is_summed_per_user_in_one_read(uows: UnitOfWorkFactory) -> None:
    alice = await add_user(uows, "alice")
    bob = await add_user(uows, "bob")
    nobody = await add_user(uows, "nobody")
    await add_audio(uows, alice, 10)
    await add_audio(uows, alice, 5_000_000_000)
    await add_audio(uows, bob, 7)
    assert alice.id and bob.id and nobody.id
    async with uows(read_only=True) as uow:
        assert await uow.admin_queries.usage([alice.id, bob.id, nobody.id, 999]) == {
            alice.id: Usage(2, 5_000_000_010),
            bob.id: Usage(1, 7),
        }
        assert await uow.admin_queries.usage([]) == {}


async def test_announcement_authors_are_read_together(uows: UnitOfWorkFactory) -> None:
    alice = await add_user(uows, "alice")
    bob = await add_user(uows, "bob")
    await add_user(uows, "carol")
    assert alice.id and bob.id
    async with uows() as uow:
        await uow.announcements.add(Announcement("t", "c", created_by_id=alice.id, created_date=NOW))
        await uow.commit()
    async with uows(read_only=True) as uow:
        authors = await uow.announcements.authors([alice.id, bob.id, 12345])
        assert {user_id: user.username for user_id, user in authors.items()} == {alice.id: "alice", bob.id: "bob"}
        assert await uow.announcements.authors([]) == {}
