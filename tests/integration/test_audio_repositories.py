"""The audio lists on the in-memory fakes, SQLite and PostgreSQL alike, newest first, each file with
its owner: the public list (``AudioCatalog``: public files of active owners, ``LISTED_PUBLICLY``),
and the repository's lists of every file and of an owner's files."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sono.adapters.sqlalchemy.catalog import SqlAudioCatalog
from sono.adapters.sqlalchemy.reads import reads_for
from sono.adapters.sqlalchemy.uow import SqlUnitOfWorkFactory
from sono.adapters.sqlalchemy.versions import ListenedVersions, versions_for
from sono.application.audio.ports import AudioCatalog, OwnedAudio
from sono.application.uow import UnitOfWorkFactory
from sono.application.values import Page
from sono.domain.audio import AudioFile, SameContent
from sono.domain.users import User
from tests.fakes.catalog import FakeAudioCatalog
from tests.fakes.metrics import RecordingMetrics
from tests.fakes.uow import FakeUnitOfWorkFactory

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def an_audio(owner: User, title: str, minutes: int, **fields: Any) -> AudioFile:
    assert owner.id is not None
    return AudioFile(
        owner_id=owner.id,
        title=title,
        original_filename=f"{title}.mp3",
        storage_key=f"audio/{owner.id}/{title}.mp3",
        content_type="audio/mpeg",
        file_size=100,
        format="mp3",
        upload_date=NOW + timedelta(minutes=minutes),
        **fields,
    )


@pytest.fixture
async def catalogue(uows: UnitOfWorkFactory) -> dict[str, AudioFile]:
    async with uows() as uow:
        alice = await uow.users.add(User("alice", "alice@example.com", "h", created_at=NOW))
        bob = await uow.users.add(User("bob", "bob@example.com", "h", created_at=NOW))
        gone = await uow.users.add(User("gone", "gone@example.com", "h", created_at=NOW, is_active=False))
        files = [
            an_audio(alice, "a-public-old", 1, is_public=True),
            an_audio(alice, "a-private", 2),
            an_audio(bob, "b-public", 3, is_public=True),
            an_audio(gone, "g-public", 4, is_public=True),
            an_audio(alice, "a-public-new", 5, is_public=True),
        ]
        for audio in files:
            await uow.audio_files.add(audio)
        await uow.commit()
    return {audio.title: audio for audio in files}


def titles(page: Page[OwnedAudio]) -> Any:
    return [(e.audio.title, e.owner.username) for e in page.items], page.total, page.has_more


async def titles_and_owners(uows: UnitOfWorkFactory, *, skip: int, limit: int) -> Any:
    async with uows(read_only=True) as uow:
        return titles(await uow.audio_files.listing(skip=skip, limit=limit))


async def test_the_public_list(audio_catalog: AudioCatalog, catalogue: dict[str, AudioFile]) -> None:
    """``LISTED_PUBLICLY``: no private file, none of an inactive owner; newest first; the total is
    the whole list's, also for a page past its end."""
    assert titles(await audio_catalog.public_page(skip=0, limit=10)) == (
        [("a-public-new", "alice"), ("b-public", "bob"), ("a-public-old", "alice")],
        3,
        False,
    )
    assert titles(await audio_catalog.public_page(skip=1, limit=1)) == ([("b-public", "bob")], 3, True)
    assert titles(await audio_catalog.public_page(skip=0, limit=2)) == (
        [("a-public-new", "alice"), ("b-public", "bob")],
        3,
        True,
    )
    assert titles(await audio_catalog.public_page(skip=3, limit=5)) == ([], 3, False)
    assert titles(await audio_catalog.public_page(skip=50, limit=5)) == ([], 3, False)


async def test_the_public_list_follows_its_owners_account_and_the_files_visibility(
    uows: UnitOfWorkFactory, audio_catalog: AudioCatalog, catalogue: dict[str, AudioFile]
) -> None:
    """A reactivated owner's public files are listed again, a deactivated one's no longer; a file
    made private leaves the list. The catalog reads outside units of work: it sees each commit."""
    gone, bob = catalogue["g-public"].owner_id, catalogue["b-public"].owner_id
    assert (await audio_catalog.public_page(skip=0, limit=10)).total == 3  # read before the changes
    async with uows() as uow:
        owner = await uow.users.get(gone)
        assert owner is not None
        owner.reactivate(NOW)
        await uow.commit()

    assert titles(await audio_catalog.public_page(skip=0, limit=10)) == (
        [("a-public-new", "alice"), ("g-public", "gone"), ("b-public", "bob"), ("a-public-old", "alice")],
        4,
        False,
    )
    async with uows() as uow:
        owner = await uow.users.get(bob)
        audio = await uow.audio_files.get(catalogue["a-public-new"].id or 0)
        assert owner is not None and audio is not None
        owner.deactivate(NOW)
        audio.is_public = False
        await uow.commit()

    assert titles(await audio_catalog.public_page(skip=0, limit=10)) == (
        [("g-public", "gone"), ("a-public-old", "alice")],
        2,
        False,
    )
    assert titles(await audio_catalog.public_page(skip=2, limit=10)) == ([], 2, False)


async def test_the_listing_of_every_file(uows: UnitOfWorkFactory, catalogue: dict[str, AudioFile]) -> None:
    items, total, has_more = await titles_and_owners(uows, skip=0, limit=2)

    assert (items, total, has_more) == ([("a-public-new", "alice"), ("g-public", "gone")], 5, True)
    items, total, has_more = await titles_and_owners(uows, skip=0, limit=10)
    assert [title for title, _ in items] == ["a-public-new", "g-public", "b-public", "a-private", "a-public-old"]
    assert (total, has_more) == (5, False)
    assert await titles_and_owners(uows, skip=5, limit=10) == ([], 5, False)


async def test_the_listing_of_an_owners_files(uows: UnitOfWorkFactory, catalogue: dict[str, AudioFile]) -> None:
    alice = catalogue["a-private"].owner_id
    async with uows(read_only=True) as uow:
        page = await uow.audio_files.listing(owner_id=alice, skip=0, limit=10)
    assert titles(page) == (
        [("a-public-new", "alice"), ("a-private", "alice"), ("a-public-old", "alice")],
        3,
        False,
    )


async def test_ties_in_time_are_ordered_by_id(uows: UnitOfWorkFactory, audio_catalog: AudioCatalog) -> None:
    async with uows() as uow:
        alice = await uow.users.add(User("alice", "alice@example.com", "h", created_at=NOW))
        first = await uow.audio_files.add(an_audio(alice, "first", 0, is_public=True))
        second = await uow.audio_files.add(an_audio(alice, "second", 0, is_public=True))
        await uow.commit()

    async with uows(read_only=True) as uow:
        every = await uow.audio_files.listing(skip=0, limit=10)
    public = await audio_catalog.public_page(skip=0, limit=10)

    assert [e.audio.id for e in public.items] == [e.audio.id for e in every.items] == [second.id, first.id]


@pytest.mark.parametrize("page", [(0, 10), (1, 1), (0, 2), (3, 5), (50, 5)])
async def test_the_catalog_reads_what_the_repository_reads(
    uows: UnitOfWorkFactory, database_url: str | None, catalogue: dict[str, AudioFile], page: tuple[int, int]
) -> None:
    """The public list's fast path (a connection of its own, no unit of work) gives its entries
    with the same fields and types as the repository, in one statement (two past the end)."""
    skip, limit = page
    statements: list[str] = []
    if database_url is None:
        assert isinstance(uows, FakeUnitOfWorkFactory)
        fast = await FakeAudioCatalog(uows.database).public_page(skip=skip, limit=limit)
    else:
        reads = reads_for(database_url)
        catalog = SqlAudioCatalog(reads, versions_for(database_url, listen=False))  # as bootstrap builds it
        catalog.listen(statements.append)
        try:
            fast = await catalog.public_page(skip=skip, limit=limit)
        finally:
            await reads.close()
        queries = [sql for sql in statements if not sql.startswith("PRAGMA")]
        assert len(queries) == (1 if fast.items or skip == 0 else 2)
    async with uows(read_only=True) as uow:
        every = {e.audio.id: e for e in (await uow.audio_files.listing(skip=0, limit=100)).items}

    listed = [e for e in every.values() if e.audio.is_public and e.owner.is_active]
    assert (fast.total, fast.skip) == (len(listed), skip)
    assert [e.audio.id for e in fast.items] == [e.audio.id for e in listed][skip : skip + limit]
    for mine in fast.items:
        theirs = every[mine.audio.id]
        for name in vars(theirs.audio):
            if not name.startswith("_"):
                assert getattr(mine.audio, name) == getattr(theirs.audio, name), name
                assert type(getattr(mine.audio, name)) is type(getattr(theirs.audio, name)), name
        assert isinstance(mine.audio.is_public, bool) and mine.audio.upload_date.tzinfo is not None  # type: ignore[union-attr]
        assert (mine.owner.id, mine.owner.username, mine.owner.is_active) == (
            theirs.owner.id,
            theirs.owner.username,
            True,
        )
        assert mine.owner.created_at == theirs.owner.created_at


async def test_contents_finds_an_owners_files_by_content_hash(uows: UnitOfWorkFactory) -> None:
    """``SameContent``: the hashes an owner's files hold, none of another owner's, none of the old
    rows that have no hash."""
    async with uows() as uow:
        alice = await uow.users.add(User("alice", "alice@example.com", "h", created_at=NOW))
        bob = await uow.users.add(User("bob", "bob@example.com", "h", created_at=NOW))
        await uow.audio_files.add(an_audio(alice, "one", 1, content_hash="a" * 64))
        await uow.audio_files.add(an_audio(alice, "two", 2, content_hash="b" * 64))
        await uow.audio_files.add(an_audio(alice, "again", 3, content_hash="b" * 64))
        await uow.audio_files.add(an_audio(alice, "old", 4))
        await uow.audio_files.add(an_audio(bob, "bobs", 5, content_hash="c" * 64))
        await uow.commit()
    assert alice.id is not None and bob.id is not None
    async with uows(read_only=True) as uow:
        wanted = frozenset({"a" * 64, "b" * 64, "c" * 64, "d" * 64})
        assert await uow.audio_files.contents(SameContent(alice.id, wanted)) == {"a" * 64, "b" * 64}
        assert await uow.audio_files.contents(SameContent(bob.id, wanted)) == {"c" * 64}
        assert await uow.audio_files.contents(SameContent(alice.id, frozenset())) == set()


async def test_the_sql_catalogs_kept_pages_are_counted(
    uows: UnitOfWorkFactory, database_url: str | None, catalogue: dict[str, AudioFile]
) -> None:
    """An unchanged page is kept (a hit) until a commit of another process writes a table it is
    read from (a miss, the page read again): on SQLite through the versions file, on PostgreSQL
    once the commit's notice has arrived. Reported under ``public_audio_pages``."""
    if database_url is None:
        pytest.skip("the fake catalog keeps nothing")
    assert isinstance(uows, SqlUnitOfWorkFactory)
    metrics = RecordingMetrics()
    reads = reads_for(database_url)
    versions = versions_for(database_url)  # this "process's": the units of work are another's
    listened = isinstance(versions, ListenedVersions)
    if listened:
        await versions.start()
    try:
        catalog = SqlAudioCatalog(reads, versions, metrics=metrics)
        first = await catalog.public_page(skip=0, limit=10)
        again = await catalog.public_page(skip=0, limit=10)
        async with uows() as uow:
            audio = await uow.audio_files.get(catalogue["a-public-new"].id or 0)
            assert audio is not None
            audio.is_public = False
            await uow.commit()
        if listened:
            await asyncio.wait_for(versions.wait_for_notices(1), 10)
        after = await catalog.public_page(skip=0, limit=10)
        unchanged = await catalog.public_page(skip=0, limit=10)
    finally:
        await reads.close()
        if listened:
            await versions.close()
    assert (first.total, after.total) == (3, 2)
    assert again is first and unchanged is after
    assert [hit for name, hit in metrics.lookups if name == "public_audio_pages"] == [False, True, False, True]
    assert metrics.sizes[-1] == ("public_audio_pages", 1, 0)


async def test_a_catalog_keeps_nothing_while_its_versions_are_not_heard(
    uows: UnitOfWorkFactory, database_url: str | None, catalogue: dict[str, AudioFile]
) -> None:
    """PostgreSQL: until the process listens for other processes' commits (and whenever it stops),
    every page is read again: nothing kept could be known to be current."""
    if database_url is None or database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's notices only")
    metrics = RecordingMetrics()
    reads = reads_for(database_url)
    try:
        catalog = SqlAudioCatalog(reads, versions_for(database_url, listen=False), metrics=metrics)
        first = await catalog.public_page(skip=0, limit=10)
        again = await catalog.public_page(skip=0, limit=10)
    finally:
        await reads.close()
    assert again is not first and again.total == first.total == 3
    assert metrics.lookups == []
