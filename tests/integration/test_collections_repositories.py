"""The collections' repository and read side, one contract on the in-memory fakes, SQLite and
PostgreSQL: saving moved, inserted and removed tracks, the lists by scope, totals and counts, and
the row lock that serialises writers of one collection."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from sono.adapters.sqlalchemy import migrate
from sono.adapters.sqlalchemy.collection_catalog import SqlCollectionCatalog
from sono.adapters.sqlalchemy.engine import create_engine
from sono.adapters.sqlalchemy.uow import SqlUnitOfWorkFactory
from sono.application.collections.ports import CollectionCatalog, CollectionCounts, Listing, Scope
from sono.application.collections.views import Listed, Shown, TrackTotals
from sono.application.gdpr.erasure import close_gaps
from sono.application.uow import UnitOfWorkFactory
from sono.domain.access import Viewer
from sono.domain.audio import AudioFile
from sono.domain.collections import Collection, CollectionType, Permission
from sono.domain.users import User

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


async def users(uows: UnitOfWorkFactory, *names: str, **fields: Any) -> list[User]:
    async with uows() as uow:
        made = [
            await uow.users.add(User(name, f"{name}@example.com", "hash", created_at=NOW, **fields)) for name in names
        ]
        await uow.commit()
    return made


async def files(
    uows: UnitOfWorkFactory, owner: User, count: int, *, durations: list[float | None] | None = None
) -> list[int]:
    assert owner.id is not None
    async with uows() as uow:
        made = [
            await uow.audio_files.add(
                AudioFile(
                    owner.id,
                    f"t{i}",
                    "t.mp3",
                    f"audio/{owner.id}/{owner.username}-{i}.mp3",
                    "audio/mpeg",
                    10,
                    "mp3",
                    duration=(durations[i] if durations else 10.0),
                    upload_date=NOW,
                )
            )
            for i in range(count)
        ]
        await uow.commit()
    return [audio.id for audio in made]  # type: ignore[misc]


async def collection(
    uows: UnitOfWorkFactory,
    owner: User,
    title: str = "mix",
    *,
    minutes: int = 0,
    audio: Sequence[int] = (),
    **fields: Any,
) -> int:
    assert owner.id is not None
    fields.setdefault("collection_type", CollectionType.PLAYLIST)
    async with uows() as uow:
        made = await uow.collections.add(
            Collection(owner.id, title, created_date=NOW + timedelta(minutes=minutes), **fields)
        )
        if audio:
            made.add_tracks(list(audio), now=NOW, added_by_id=owner.id)
            await uow.collections.save(made)
        await uow.commit()
    assert made.id is not None
    return made.id


async def share_then_deactivate(
    uows: UnitOfWorkFactory, shares: list[tuple[int, User, Permission]], gone: User
) -> None:
    """Add collaborators (collection, user, permission; added by the owner), then deactivate ``gone``."""
    async with uows() as uow:
        for collection_id, user, permission in shares:
            loaded = await uow.collections.get(collection_id)
            assert loaded is not None and user.id is not None
            loaded.add_collaborator(user.id, permission, now=NOW, added_by_id=loaded.owner_id)
            await uow.collections.save(loaded)
        gone_user = await uow.users.get(gone.id)  # type: ignore[arg-type]
        assert gone_user is not None
        gone_user.deactivate(NOW)
        await uow.commit()


async def order(uows: UnitOfWorkFactory, collection_id: int) -> list[int]:
    async with uows() as uow:
        loaded = await uow.collections.get(collection_id)
        assert loaded is not None
        assert [t.track_order for t in loaded.tracks] == list(range(1, len(loaded.tracks) + 1))
        return loaded.audio_file_ids


async def test_moves_inserts_and_removals_are_saved_in_one_transaction(uows: UnitOfWorkFactory) -> None:
    (owner,) = await users(uows, "owner")
    a, b, c, d, e, f = await files(uows, owner, 6)
    mix = await collection(uows, owner, audio=[a, b, c, d, e])
    async with uows() as uow:
        loaded = await uow.collections.get(mix, for_update=True)
        assert loaded is not None
        loaded.move_track(loaded.tracks[4].id, 1)  # type: ignore[arg-type]  # e a b c d
        loaded.remove_track(loaded.tracks[2].id)  # type: ignore[arg-type]  # e a c d
        loaded.add_track(f, now=NOW, added_by_id=owner.id, position=2)  # e f a c d
        loaded.move_track(loaded.tracks[4].id, 3)  # type: ignore[arg-type]  # e f d a c
        await uow.collections.save(loaded)
        await uow.commit()
    assert await order(uows, mix) == [e, f, d, a, c]

    async with uows() as uow:  # a reverse of the whole list: every position changes
        loaded = await uow.collections.get(mix, for_update=True)
        assert loaded is not None
        for position, track in enumerate(reversed(list(loaded.tracks)), start=1):
            loaded.move_track(track.id, position)  # type: ignore[arg-type]
        await uow.collections.save(loaded)
        await uow.commit()
    assert await order(uows, mix) == [c, a, d, f, e]


async def test_a_failed_save_changes_nothing(uows: UnitOfWorkFactory) -> None:
    (owner,) = await users(uows, "owner")
    a, b = await files(uows, owner, 2)
    mix = await collection(uows, owner, audio=[a, b])
    async with uows() as uow:
        loaded = await uow.collections.get(mix, for_update=True)
        assert loaded is not None
        loaded.move_track(loaded.tracks[1].id, 1)  # type: ignore[arg-type]
        await uow.collections.save(loaded)
        await uow.rollback()
    assert await order(uows, mix) == [a, b]


async def test_deleting_a_collection_takes_its_tracks_and_collaborators(
    uows: UnitOfWorkFactory, collection_catalog: CollectionCatalog
) -> None:
    owner, friend = await users(uows, "owner", "friend")
    audio = await files(uows, owner, 3)
    doomed = await collection(uows, owner, audio=audio, is_collaborative=True)
    kept = await collection(uows, owner, "kept", audio=audio[:1])
    async with uows() as uow:
        loaded = await uow.collections.get(doomed)
        assert loaded is not None
        loaded.add_collaborator(friend.id, Permission.VIEW, now=NOW, added_by_id=owner.id)  # type: ignore[arg-type]
        await uow.collections.save(loaded)
        await uow.commit()
    async with uows() as uow:
        loaded = await uow.collections.get(doomed)
        assert loaded is not None
        await uow.collections.delete(loaded)
        await uow.commit()
    async with uows(read_only=True) as uow:
        assert await uow.collections.get(doomed) is None
        assert await uow.collection_queries.track_entries() == 1
        assert await uow.collections.member_of(friend.id) == []  # type: ignore[arg-type]
    listed = (await collection_catalog.page(Listing(Scope.ALL), skip=0, limit=10)).items
    assert [(item.collection.id, item.totals) for item in listed] == [(kept, TrackTotals(1, 10.0))]


async def test_deleted_audio_leaves_no_gap_in_any_collection(uows: UnitOfWorkFactory) -> None:
    owner, other = await users(uows, "owner", "other")
    a, b, c = await files(uows, owner, 3)
    (x,) = await files(uows, other, 1)
    first = await collection(uows, owner, audio=[a, b, c])
    second = await collection(uows, other, audio=[b, x, a])
    async with uows() as uow:
        removed = await close_gaps(uow, [a, b])
        for audio_id in (a, b):
            audio = await uow.audio_files.get(audio_id)
            assert audio is not None
            await uow.audio_files.delete(audio)
        await uow.commit()
    assert removed == 4
    assert await order(uows, first) == [c]
    assert await order(uows, second) == [x]


async def test_lists_by_scope_newest_first(uows: UnitOfWorkFactory, collection_catalog: CollectionCatalog) -> None:
    me, friend, stranger, gone = await users(uows, "me", "friend", "stranger", "gone")
    mine_private = await collection(uows, me, "mine private", minutes=1)
    mine_public = await collection(uows, me, "mine public", minutes=2, is_public=True)
    shared = await collection(uows, friend, "shared", minutes=3, is_collaborative=True)
    public_album = await collection(
        uows, stranger, "album", minutes=4, is_public=True, collection_type=CollectionType.ALBUM, artist="A"
    )
    private = await collection(uows, stranger, "private", minutes=5)
    gone_public = await collection(uows, gone, "gone public", minutes=6, is_public=True)
    gone_shared = await collection(uows, gone, "gone shared", minutes=7, is_collaborative=True)
    await share_then_deactivate(uows, [(shared, me, Permission.VIEW), (gone_shared, me, Permission.VIEW)], gone)

    async def listed(listing: Listing, skip: int = 0, limit: int = 100) -> tuple[list[int | None], int]:
        page = await collection_catalog.page(listing, skip=skip, limit=limit)
        return [listed.collection.id for listed in page.items], page.total

    assert await listed(Listing(Scope.PUBLIC)) == ([public_album, mine_public], 2)
    assert await listed(Listing(Scope.PUBLIC, collection_type=CollectionType.ALBUM)) == ([public_album], 1)
    assert await listed(Listing(Scope.VISIBLE, me.id)) == ([public_album, shared, mine_public, mine_private], 4)
    assert await listed(Listing(Scope.VISIBLE, me.id), skip=1, limit=2) == ([shared, mine_public], 4)
    assert await listed(Listing(Scope.OWNED, me.id)) == ([mine_public, mine_private], 2)
    assert await listed(Listing(Scope.SHARED, me.id)) == ([shared], 1)
    everything = [gone_shared, gone_public, private, public_album, shared, mine_public, mine_private]
    assert await listed(Listing(Scope.ALL)) == (everything, 7)
    assert await listed(Listing(Scope.ALL), skip=6, limit=5) == ([mine_private], 7)
    assert await listed(Listing(Scope.ALL), skip=10) == ([], 7)
    page = await collection_catalog.page(Listing(Scope.SHARED, me.id), skip=0, limit=10)
    assert [c.user_id for c in page.items[0].collection.collaborators] == [me.id]
    assert {user_id: user.username for user_id, user in page.items[0].people.items()} == {me.id: "me"}
    assert page.items[0].owner.username == "friend"


async def test_the_lists_show_what_collection_visible_to_lets_their_caller_see(
    uows: UnitOfWorkFactory, collection_catalog: CollectionCatalog
) -> None:
    """Every list, for every caller, is the collections of its scope the domain's rule
    (``Collection.visible_to``, the specification the catalogs compile or evaluate) lets the caller
    see as a member: a deactivated owner's collections are in no list but the administration's,
    not even their owner's own (contract section 6 as ``Collection.visible_to`` reads it)."""
    owner, friend, other = await users(uows, "owner", "friend", "other")
    made, shares = [], []
    for minutes, (is_public, shared) in enumerate(itertools.product((False, True), (False, True))):
        made.append(
            await collection(uows, owner, f"o{minutes}", minutes=minutes, is_public=is_public, is_collaborative=True)
        )
        if shared:
            shares.append((made[-1], friend, Permission.VIEW))
    made.append(await collection(uows, friend, "public", minutes=10, is_public=True))
    made.append(await collection(uows, other, "shared", minutes=11, is_collaborative=True))
    shares.append((made[-1], friend, Permission.EDIT))
    await share_then_deactivate(uows, shares, owner)  # the owner of the first four leaves

    async with uows(read_only=True) as uow:
        loaded = [await uow.collections.get(i) for i in reversed(made)]  # newest first
        found = await uow.collection_queries.users([owner.id, friend.id, other.id])  # type: ignore[list-item]
    active = {user_id: user.is_active for user_id, user in found.items()}
    assert active == {owner.id: False, friend.id: True, other.id: True}

    def expected(user_id: int | None, scope: Scope) -> list[int | None]:
        viewer = Viewer(user_id)
        chosen = []
        for c in loaded:
            assert c is not None
            if not c.visible_to(viewer, owner_active=active[c.owner_id]):
                continue
            if scope is Scope.OWNED and c.owner_id != user_id:
                continue
            if scope is Scope.SHARED and c.permission_of(viewer) is None:
                continue
            chosen.append(c.id)
        return chosen

    for user in (owner, friend, other):
        for scope in (Scope.VISIBLE, Scope.OWNED, Scope.SHARED):
            page = await collection_catalog.page(Listing(scope, user.id), skip=0, limit=100)
            wanted = expected(user.id, scope)
            assert ([x.collection.id for x in page.items], page.total) == (wanted, len(wanted)), (user.username, scope)
    public = await collection_catalog.page(Listing(Scope.PUBLIC), skip=0, limit=100)
    assert [x.collection.id for x in public.items] == expected(None, Scope.VISIBLE) == [made[4]]
    everything = await collection_catalog.page(Listing(Scope.ALL), skip=0, limit=100)
    assert [x.collection.id for x in everything.items] == [c.id for c in loaded if c is not None]
    # what the rule says here: the inactive owner's collections are nobody's but the admins'
    assert expected(owner.id, Scope.VISIBLE) == [made[4]] and expected(owner.id, Scope.OWNED) == []
    assert expected(friend.id, Scope.SHARED) == [made[5]] and expected(other.id, Scope.VISIBLE) == made[:3:-1]
    for collection_id in made:  # a screen's read gives every collection, whoever asks: the caller decides
        shown = await collection_catalog.shown(collection_id)
        assert shown is not None and shown.collection.id == collection_id
        assert shown.people[shown.collection.owner_id].is_active == active[shown.collection.owner_id]


def _fields(instance: object) -> dict[str, Any]:
    return {name: value for name, value in vars(instance).items() if not name.startswith("_")}


def _described(listed: Listed) -> tuple[Any, ...]:
    collection = _fields(listed.collection)
    members = [_fields(member) for member in collection.pop("collaborators")]
    people = {user_id: _fields(user) for user_id, user in listed.people.items()}
    return collection, members, _fields(listed.owner), listed.totals, people


async def test_the_catalog_pages_each_list_in_one_statement(
    uows: UnitOfWorkFactory, collection_catalog: CollectionCatalog, database_url: str | None
) -> None:
    """The lists (the SQL catalog: a connection of its own, no unit of work): each page the
    collections of its list, newest first, with the list's length, each row with the fields and
    types of ``CollectionQueries.listed`` (the rows of the library's search); in SQL one statement
    per page (a count more beyond the end)."""
    me, friend, gone = await users(uows, "me", "friend", "gone")
    audio = await files(uows, friend, 3, durations=[10.5, None, 2.25])
    mine = await collection(uows, me, "mine", minutes=1, description="d")
    shared = await collection(uows, friend, "shared", minutes=2, audio=audio, is_public=True, is_collaborative=True)
    album = await collection(
        uows,
        friend,
        "album",
        minutes=3,
        is_public=True,
        is_collaborative=True,
        collection_type=CollectionType.ALBUM,
        artist="A",
    )
    gone_public = await collection(uows, gone, "gone", minutes=4, is_public=True)
    shares = [(shared, me, Permission.EDIT), (shared, gone, Permission.VIEW)]
    await share_then_deactivate(uows, [*shares, (album, me, Permission.VIEW), (album, gone, Permission.VIEW)], gone)

    statements: list[str] = []
    if database_url is not None:
        assert isinstance(collection_catalog, SqlCollectionCatalog)
        collection_catalog.listen(statements.append)
    listings = {
        Listing(Scope.PUBLIC): [album, shared],
        Listing(Scope.PUBLIC, collection_type=CollectionType.ALBUM): [album],
        Listing(Scope.VISIBLE, me.id): [album, shared, mine],
        Listing(Scope.OWNED, friend.id): [album, shared],
        Listing(Scope.SHARED, me.id): [album, shared],
        Listing(Scope.ALL): [gone_public, album, shared, mine],
    }
    for listing, whole in listings.items():
        for skip, limit in ((0, 10), (1, 1), (0, 2), (10, 5)):
            statements.clear()
            fast = await collection_catalog.page(listing, skip=skip, limit=limit)
            wanted = whole[skip : skip + limit]
            async with uows(read_only=True) as uow:
                rows = await uow.collection_queries.listed(wanted)
            assert (fast.total, fast.skip) == (len(whole), skip), listing
            assert [_described(x) for x in fast.items] == [_described(x) for x in rows], listing
            for mine, theirs in zip(fast.items, rows, strict=True):  # the same values, of the same types
                for name, value in vars(theirs.collection).items():
                    if not name.startswith("_") and name not in ("tracks", "collaborators"):
                        assert getattr(mine.collection, name) == value, name
                        assert type(getattr(mine.collection, name)) is type(value), name
                pairs = zip(mine.collection.collaborators, theirs.collection.collaborators, strict=True)
                for member, their_member in pairs:
                    for name, value in vars(their_member).items():
                        if not name.startswith("_"):
                            assert getattr(member, name) == value, name
                            assert type(getattr(member, name)) is type(value), name
                assert vars(mine.owner).keys() == vars(theirs.owner).keys()
                for name, value in vars(theirs.owner).items():
                    if not name.startswith("_"):
                        assert type(getattr(mine.owner, name)) is type(value), name
            queries = [sql for sql in statements if not sql.startswith("PRAGMA")]
            assert len(queries) == (0 if database_url is None else 1 if fast.items or skip == 0 else 2), queries
    everything = (await collection_catalog.page(Listing(Scope.ALL), skip=0, limit=10)).items
    item = next(x for x in everything if x.collection.id == shared)
    assert isinstance(item.collection.is_public, bool) and item.collection.created_date.tzinfo is not None  # type: ignore[union-attr]
    assert [c.permission_level for c in item.collection.collaborators] == [Permission.EDIT, Permission.VIEW]
    assert item.totals == TrackTotals(3, 12.75)


def _shown(shown: Shown | None) -> tuple[Any, ...] | None:
    if shown is None:
        return None
    collection = _fields(shown.collection)
    tracks = [_fields(track) for track in collection.pop("tracks")]
    members = [_fields(member) for member in collection.pop("collaborators")]
    files = {audio_id: _fields(audio) for audio_id, audio in shown.files.items()}
    people = {user_id: _fields(user) for user_id, user in shown.people.items()}
    return collection, tracks, members, files, people


async def test_the_catalog_shows_what_the_repository_holds(
    uows: UnitOfWorkFactory, collection_catalog: CollectionCatalog, database_url: str | None
) -> None:
    """A single collection outside units of work: the aggregate the repository loads (tracks in
    order, collaborators), its tracks' files and everyone on it, with the same types; in SQL one
    statement, and read again unchanged, the same objects (the same version)."""
    me, friend, gone = await users(uows, "me", "friend", "gone")
    audio = await files(uows, friend, 3, durations=[10.5, None, 2.25]) + await files(uows, me, 1)
    shared = await collection(uows, friend, "shared", audio=audio, is_public=True, is_collaborative=True)
    bare = await collection(uows, me, "bare", description="d")
    await share_then_deactivate(uows, [(shared, me, Permission.EDIT), (shared, gone, Permission.VIEW)], gone)

    statements: list[str] = []
    if database_url is not None:
        assert isinstance(collection_catalog, SqlCollectionCatalog)
        collection_catalog.listen(statements.append)
    for collection_id in (shared, bare, 999_999):
        statements.clear()
        fast = await collection_catalog.shown(collection_id)
        async with uows(read_only=True) as uow:
            held = await uow.collections.get(collection_id)
            if held is None:
                expected = None
            else:
                held_files = await uow.audio_files.get_many(held.audio_file_ids)
                wanted = {held.owner_id, *(c.user_id for c in held.collaborators)}
                people = await uow.collection_queries.users(wanted | {a.owner_id for a in held_files.values()})
                expected = _shown(Shown(held, held_files, people))
        assert _shown(fast) == expected, collection_id
        queries = [sql for sql in statements if not sql.startswith("PRAGMA")]
        assert len(queries) == (0 if database_url is None else 1), queries
    again = await collection_catalog.shown(shared)
    first = await collection_catalog.shown(shared)
    assert first is not None and again is not None
    if database_url is not None:
        assert again is first and first.version is not None
    assert [c.permission_level for c in first.collection.collaborators] == [Permission.EDIT, Permission.VIEW]
    assert [t.track_order for t in first.collection.tracks] == [1, 2, 3, 4]
    assert isinstance(first.collection.is_public, bool) and first.collection.created_date.tzinfo is not None  # type: ignore[union-attr]


async def test_a_collection_read_again_alike_keeps_its_state(
    uows: UnitOfWorkFactory, collection_catalog: CollectionCatalog, database_url: str | None
) -> None:
    """A commit on another collection drops every kept collection (they are read from the same
    tables); the rows read again are the same, so the catalog gives back the same state, with its
    version (the screens made of it stay kept: ``collection_states``). A change of the collection
    itself makes a new version."""
    if database_url is None:
        pytest.skip("the fake catalog has no versions")
    (owner,) = await users(uows, "owner")
    audio = await files(uows, owner, 2)
    mine = await collection(uows, owner, "mine", audio=audio)
    theirs = await collection(uows, owner, "theirs")
    first = await collection_catalog.shown(mine)
    for collection_id, title in ((theirs, "renamed"), (mine, "mine, renamed")):
        async with uows() as uow:
            held = await uow.collections.get(collection_id)
            assert held is not None
            held.title = title
            await uow.commit()
        if collection_id == theirs:
            again = await collection_catalog.shown(mine)
            assert again is first
    changed = await collection_catalog.shown(mine)
    assert first is not None and changed is not None
    assert changed.collection.title == "mine, renamed" and changed.version != first.version


async def test_totals_counts_and_people(uows: UnitOfWorkFactory, collection_catalog: CollectionCatalog) -> None:
    owner, other = await users(uows, "owner", "other")
    audio = await files(uows, owner, 3, durations=[10.5, None, 2.25])
    full = await collection(uows, owner, audio=audio, is_public=True, is_collaborative=True)
    empty = await collection(uows, owner, "empty", collection_type=CollectionType.ALBUM, artist="A")
    await collection(uows, other, "c", collection_type=CollectionType.COMPILATION, is_public=True)
    async with uows(read_only=True) as uow:
        queries = uow.collection_queries
        listed = (await collection_catalog.page(Listing(Scope.OWNED, owner.id), skip=0, limit=10)).items
        assert [(item.collection.id, item.totals) for item in listed] == [
            (empty, TrackTotals()),
            (full, TrackTotals(3, 12.75)),
        ]
        assert [item.owner.username for item in listed] == ["owner", "owner"]
        assert [item.collection.tracks for item in listed] == [[], []]  # lists do not load tracks
        assert await queries.counts() == CollectionCounts(3, 1, 1, 1, 2, 1)
        assert await queries.counts(owner_id=owner.id) == CollectionCounts(2, 1, 1, 0, 1, 1)
        assert await queries.counts(owner_id=10**6) == CollectionCounts()
        assert await queries.track_entries() == 3
        found = await queries.users([owner.id, other.id, owner.id, 10**6])  # type: ignore[list-item]
        assert {user_id: user.username for user_id, user in found.items()} == {owner.id: "owner", other.id: "other"}


async def test_listed_by_id_are_the_page_rows_in_the_order_asked(
    uows: UnitOfWorkFactory, collection_catalog: CollectionCatalog
) -> None:
    """``listed`` (a page chosen elsewhere, the library's search) gives each collection as ``page``
    does, in the order of the ids, leaving out the unknown ones."""
    owner, friend, gone = await users(uows, "owner", "friend", "gone")
    audio = await files(uows, owner, 2, durations=[1.5, 2.0])
    first = await collection(uows, owner, "first", audio=audio, minutes=1, is_collaborative=True)
    second = await collection(uows, owner, "second", minutes=2)
    await share_then_deactivate(uows, [(first, friend, Permission.EDIT)], gone)
    async with uows(read_only=True) as uow:
        paged = (await collection_catalog.page(Listing(Scope.ALL), skip=0, limit=10)).items
        listed = await uow.collection_queries.listed([second, 10**6, first])
        assert await uow.collection_queries.listed([]) == []
    assert [item.collection.id for item in listed] == [second, first]
    assert [_described(item) for item in listed] == [_described(item) for item in paged]  # newest first: same order
    assert listed[1].totals == TrackTotals(2, 3.5) and friend.id in listed[1].people


@pytest.mark.postgres
async def test_writers_of_one_collection_queue_on_its_row_lock(postgres_url: str) -> None:
    """A second writer's ``get(for_update=True)`` waits for the first to commit, then sees its
    track: both appends land at distinct, contiguous positions."""
    await migrate.upgrade(postgres_url)
    engine = create_engine(postgres_url)
    uows = SqlUnitOfWorkFactory(engine)
    try:
        (owner,) = await users(uows, "owner")
        a, b, c = await files(uows, owner, 3)
        mix = await collection(uows, owner, audio=[a])

        async def append(audio_id: int, started: asyncio.Event | None = None) -> int:
            async with uows() as uow:
                if started is not None:
                    started.set()
                loaded = await uow.collections.get(mix, for_update=True)
                assert loaded is not None
                track = loaded.add_track(audio_id, now=NOW, added_by_id=owner.id)
                await uow.collections.save(loaded)
                await uow.commit()
                return track.track_order

        async with uows() as first:
            holder = await first.collections.get(mix, for_update=True)
            assert holder is not None
            started = asyncio.Event()
            second = asyncio.create_task(append(c, started))
            await started.wait()
            async with engine.connect() as probe:  # until the second writer waits on the lock
                for _ in range(500):
                    waiting = await probe.scalar(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                            " AND wait_event_type = 'Lock'"
                        )
                    )
                    await probe.rollback()  # pg_stat_activity is a snapshot per transaction
                    if waiting:
                        break
                    await asyncio.sleep(0.01)
                assert waiting == 1, "the second writer did not wait for the lock"
            holder.add_track(b, now=NOW, added_by_id=owner.id)
            await first.collections.save(holder)
            await first.commit()
        assert await second == 3
        assert await order(uows, mix) == [a, b, c]
    finally:
        await engine.dispose()
