"""The stars and plays repository and the ``SongAnnotations`` read on the in-memory fakes, SQLite and
PostgreSQL alike: idempotent stars keeping the first time, newest first, counters keeping the latest
listen, song stars forgotten with their files, and rows that go with their user and file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from sono.adapters.sqlalchemy.annotation_reads import SqlSongAnnotations
from sono.adapters.sqlalchemy.reads import reads_for
from sono.application.annotations.ports import SongAnnotations
from sono.application.uow import UnitOfWorkFactory
from sono.domain.annotations import PlayCount, SongAnnotation, Star, StarKind
from sono.domain.audio import AudioFile
from sono.domain.users import User
from tests.fakes.annotations import FakeSongAnnotations
from tests.fakes.uow import FakeUnitOfWorkFactory

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)


@pytest.fixture
async def songs(uows: UnitOfWorkFactory, database_url: str | None) -> AsyncIterator[SongAnnotations]:
    """The read as bootstrap builds it (on the fast reads), or its fake."""
    if database_url is None:
        assert isinstance(uows, FakeUnitOfWorkFactory)
        yield FakeSongAnnotations(uows.database)
        return
    reads = reads_for(database_url)
    try:
        yield SqlSongAnnotations(reads)
    finally:
        await reads.close()


async def arrange(uows: UnitOfWorkFactory) -> tuple[int, int, list[int]]:
    """Two users, alice with three files."""
    async with uows() as uow:
        alice = await uow.users.add(User("alice", "alice@example.com", "h", created_at=NOW))
        bob = await uow.users.add(User("bob", "bob@example.com", "h", created_at=NOW))
        assert alice.id is not None and bob.id is not None
        files = []
        for n in range(3):
            audio = AudioFile(alice.id, f"t{n}", "t.mp3", f"audio/{n}.mp3", "audio/mpeg", 1, "mp3", upload_date=NOW)
            await uow.audio_files.add(audio)
            assert audio.id is not None
            files.append(audio.id)
        await uow.commit()
    return alice.id, bob.id, files


async def test_stars_are_idempotent_newest_first_and_forgotten_with_their_files(uows: UnitOfWorkFactory) -> None:
    alice, bob, (a, b, c) = await arrange(uows)
    async with uows() as uow:
        await uow.annotations.star(bob, StarKind.SONG, [a, b], NOW)
        await uow.annotations.star(bob, StarKind.ALBUM, [a], NOW)
        await uow.commit()
    async with uows() as uow:
        await uow.annotations.star(bob, StarKind.SONG, [b, c], LATER)  # b again: keeps NOW
        await uow.annotations.star(alice, StarKind.SONG, [a], LATER)
        await uow.commit()
    async with uows(read_only=True) as uow:
        assert await uow.annotations.stars_of(bob) == [
            Star(bob, StarKind.SONG, c, LATER),
            Star(bob, StarKind.ALBUM, a, NOW),
            Star(bob, StarKind.SONG, a, NOW),
            Star(bob, StarKind.SONG, b, NOW),
        ]

    async with uows() as uow:
        await uow.annotations.unstar(bob, StarKind.SONG, [c, 999])
        await uow.annotations.forget_stars(StarKind.SONG, [a])  # everyone's song stars of a; not album a
        await uow.commit()
    async with uows(read_only=True) as uow:
        assert [(s.kind, s.item_id) for s in await uow.annotations.stars_of(bob)] == [
            (StarKind.ALBUM, a),
            (StarKind.SONG, b),
        ]
        assert await uow.annotations.stars_of(alice) == []


async def test_play_counters_keep_the_latest_listen(uows: UnitOfWorkFactory, songs: SongAnnotations) -> None:
    alice, bob, (a, b, c) = await arrange(uows)
    async with uows() as uow:
        await uow.annotations.record_play(bob, a, NOW)
        await uow.annotations.record_play(bob, a, LATER)
        await uow.annotations.record_play(bob, a, NOW - timedelta(days=1))  # submitted late
        await uow.annotations.record_play(bob, b, NOW)
        await uow.annotations.star(bob, StarKind.SONG, [b, c], NOW)
        await uow.annotations.star(bob, StarKind.ALBUM, [a], NOW)  # not a song: no annotation of file a
        await uow.annotations.record_play(alice, c, LATER)
        await uow.commit()
    async with uows(read_only=True) as uow:
        assert await uow.annotations.plays_of(bob) == [PlayCount(bob, a, 3, LATER), PlayCount(bob, b, 1, NOW)]

    assert await songs.songs(bob, [a, b, c, 999, -1]) == {
        a: SongAnnotation(None, 3, LATER),
        b: SongAnnotation(NOW, 1, NOW),
        c: SongAnnotation(NOW, 0, None),
    }
    assert await songs.songs(alice, [a, b, c]) == {c: SongAnnotation(None, 1, LATER)}
    assert await songs.songs(bob, []) == {}


async def test_stars_and_counters_go_with_their_user_and_counters_with_their_file(uows: UnitOfWorkFactory) -> None:
    alice, bob, (a, b, _) = await arrange(uows)
    async with uows() as uow:
        for who in (alice, bob):
            await uow.annotations.star(who, StarKind.SONG, [a, b], NOW)
            await uow.annotations.record_play(who, a, NOW)
            await uow.annotations.record_play(who, b, NOW)
        await uow.commit()
    async with uows() as uow:
        user = await uow.users.get(bob)
        audio = await uow.audio_files.get(a)
        assert user is not None and audio is not None
        await uow.users.delete(user)
        await uow.audio_files.delete(audio)  # its song stars are the use cases' (forget_stars)
        await uow.commit()
    async with uows(read_only=True) as uow:
        assert await uow.annotations.stars_of(bob) == [] and await uow.annotations.plays_of(bob) == []
        assert [p.audio_file_id for p in await uow.annotations.plays_of(alice)] == [b]
