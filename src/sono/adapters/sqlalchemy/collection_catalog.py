"""``CollectionCatalog``: the collection lists read outside units of work, one statement per page,
and single collections, one statement each (through ``sono.adapters.sqlalchemy.reads``, like the
public audio list).

The statement is the repository's page (``page_statements``: the page of ids with the list's
length, then their columns, owners and track totals) with each collection's collaborators and their
users joined on, one row per collaborator (one with empty collaborator columns for a collection
without any), compiled once per kind of list. Pages and collections are kept until a commit writes a table they
are read from (``reads.Kept`` on the tables' versions), so repeated reads of an unchanged list or
collection cost no statement.
What depends on the caller beyond the list itself (``can_edit``) is decided by the use case on
every request.

A single collection is one statement: a row for itself with its owner, one per collaborator with
their user, one per track (in order) with its file and the file's owner. On SQLite it is kept like
the pages; on either database, when the rows read are the same as the last time, the same ``Shown``
as the last time is returned, with the same ``version`` (the use case keeps what it made of it by
that version); other rows get a new version.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import Any

from sqlalchemy import CompoundSelect, Integer, Select, Table, bindparam, cast, column, literal, null, select, union_all
from sqlalchemy.orm import configure_mappers

from sono.adapters.lru import Lru
from sono.adapters.sqlalchemy.reads import Kept, Listener, Query, Reads, Shape
from sono.adapters.sqlalchemy.repositories.collections import page_statements
from sono.adapters.sqlalchemy.tables import start_mappers
from sono.adapters.sqlalchemy.tables.accounts import users
from sono.adapters.sqlalchemy.tables.audio import audio_files
from sono.adapters.sqlalchemy.tables.collections import collaborators, collection_tracks, collections
from sono.adapters.sqlalchemy.versions import TableVersions
from sono.application.collections.ports import Listing, Scope
from sono.application.collections.views import Listed, Shown, TrackTotals
from sono.application.metrics import Metrics
from sono.application.values import Page
from sono.domain.audio import AudioFile
from sono.domain.collections import Collaborator, Collection, CollectionTrack
from sono.domain.users import User

_MEMBER, _PERSON = "sono_member_", "sono_person_"
_COLLECTION_END = len(collections.c)
_OWNER_END = _COLLECTION_END + len(users.c)
_TRACK_COUNT, _DURATION, _TOTAL = _OWNER_END, _OWNER_END + 1, _OWNER_END + 2
_MEMBER_START = _OWNER_END + 3
_PERSON_START = _MEMBER_START + len(collaborators.c)


# A single collection's statement: rows of three kinds, each with every slot below, NULL where the
# kind has none (the user slot holds the collection's owner, a collaborator's user or a file's owner).
_KIND = 0
_ONE_COLLECTION = 1
_ONE_MEMBER = _ONE_COLLECTION + len(collections.c)
_ONE_TRACK = _ONE_MEMBER + len(collaborators.c)
_ONE_FILE = _ONE_TRACK + len(collection_tracks.c)
_ONE_USER = _ONE_FILE + len(audio_files.c)
_HEAD, _MEMBER_ROW, _TRACK_ROW = 0, 1, 2
_COLLECTION_ID = bindparam("collection_id", type_=Integer)


def _one_collection() -> CompoundSelect[Any]:
    """A collection (one row, with its owner), its collaborators (one row each, with their user, in
    the order they were added), and its tracks (one row each, with their file and its owner, in
    order): one statement."""
    slots = {"c": collections, "m": collaborators, "t": collection_tracks, "f": audio_files, "u": users}

    def row(kind: int, **filled: Table) -> Select[Any]:
        columns: list[Any] = [literal(kind, Integer).label("kind")]
        for prefix, table in slots.items():
            for slot in table.c:
                value = slot if prefix in filled else cast(null(), slot.type)
                columns.append(value.label(f"{prefix}_{slot.name}"))
        return select(*columns)

    head = row(_HEAD, c=collections, u=users).join_from(collections, users, users.c.id == collections.c.owner_id)
    members = row(_MEMBER_ROW, m=collaborators, u=users).join_from(
        collaborators, users, users.c.id == collaborators.c.user_id
    )
    tracks = (
        row(_TRACK_ROW, t=collection_tracks, f=audio_files, u=users)
        .join_from(collection_tracks, audio_files, audio_files.c.id == collection_tracks.c.audio_file_id)
        .join(users, users.c.id == audio_files.c.owner_id)
    )
    statement = union_all(
        head.where(collections.c.id == _COLLECTION_ID),
        members.where(collaborators.c.collection_id == _COLLECTION_ID),
        tracks.where(collection_tracks.c.collection_id == _COLLECTION_ID),
    )
    return statement.order_by(column("kind"), column("m_added_date"), column("m_id"), column("t_track_order"))


@functools.cache
def _listing(scope: Scope, typed: bool) -> Select[Any]:
    """The page of one kind of list with the collaborators of its collections and their users;
    newest first, each collection's collaborators in the order they were added."""
    listed = page_statements(scope, typed).page.subquery("listed")
    person = users.alias("person")
    return (
        select(
            listed,
            *(column.label(f"{_MEMBER}{column.name}") for column in collaborators.c),
            *(column.label(f"{_PERSON}{column.name}") for column in person.c),
        )
        .select_from(
            listed.outerjoin(collaborators, collaborators.c.collection_id == listed.c.id).outerjoin(
                person, person.c.id == collaborators.c.user_id
            )
        )
        .order_by(listed.c.created_date.desc(), listed.c.id.desc(), collaborators.c.added_date, collaborators.c.id)
    )


class SqlCollectionCatalog:
    """The ``CollectionCatalog`` port on ``reads``. Pages are kept while their tables are unchanged
    (``reads.Kept``), keyed by the listing (which names the caller for their own lists), ``skip``
    and ``limit``; single collections by their id."""

    PAGES_KEPT = 256  # 0: keep none (every request reads its page)
    SHOWN_KEPT = 256  # single collections kept (0: none); as many remembered by their rows

    def __init__(self, reads: Reads, versions: TableVersions, *, metrics: Metrics | None = None) -> None:
        start_mappers()
        configure_mappers()  # the shapes build instances through the mapper before any session does
        self._reads = reads
        self._queries: dict[tuple[Scope, bool], tuple[Query, Query]] = {}
        dialect = reads.dialect
        self._collection = Shape(Collection, collections.c, 0, dialect)
        self._owner = Shape(User, users.c, _COLLECTION_END, dialect)
        self._member = Shape(Collaborator, collaborators.c, _MEMBER_START, dialect)
        self._person = Shape(User, users.c, _PERSON_START, dialect)
        self._one = reads.query(_one_collection())
        watch = versions.watch(self._one.tables)  # every table a collection is shown from, listed too
        self._pages: Kept[Page[Listed]] = Kept(watch, "collection_pages", metrics=metrics)
        self._one_collection = Shape(Collection, collections.c, _ONE_COLLECTION, dialect)
        self._one_member = Shape(Collaborator, collaborators.c, _ONE_MEMBER, dialect)
        self._one_track = Shape(CollectionTrack, collection_tracks.c, _ONE_TRACK, dialect)
        self._one_file = Shape(AudioFile, audio_files.c, _ONE_FILE, dialect)
        self._one_user = Shape(User, users.c, _ONE_USER, dialect)
        self._shown: Kept[Shown | None] = Kept(watch, "collection_rows", metrics=metrics)  # a missing one is read again
        # the rows last read of each collection, and what was made of them: rows read again alike
        # (after a commit elsewhere dropped the kept ones) give back the same state and version
        self._last: Lru[int, tuple[list[tuple[Any, ...]], Shown]] = Lru(
            "collection_states", max_entries=self.SHOWN_KEPT, metrics=metrics
        )
        self._versions = itertools.count(1)  # a new number for each new state read

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every statement run from now on; returns the way to stop."""
        return self._reads.listen(listener)

    async def page(self, listing: Listing, *, skip: int, limit: int) -> Page[Listed]:
        async def read() -> Page[Listed]:
            page, count = self._statements(listing.scope, listing.collection_type is not None)
            values = {"user_id": listing.user_id or -1, "collection_type": listing.collection_type}
            rows = await self._reads.fetch_all(page, **values, skip=skip, limit=limit)
            if rows:
                return self._page_of(rows, skip)
            total = 0 if skip == 0 else (await self._reads.fetch_one(count, **values))[0]
            return Page([], int(total or 0), skip)

        return await self._pages.get((listing, skip, limit), read, most=self.PAGES_KEPT)

    async def shown(self, collection_id: int) -> Shown | None:
        async def read() -> Shown | None:
            rows = [tuple(row) for row in await self._reads.fetch_all(self._one, collection_id=collection_id)]
            if not rows or rows[0][_KIND] != _HEAD:
                return None
            last = self._last.get(collection_id, lambda last: last[0] == rows)
            if last is not None:
                return last[1]  # the same rows: the same collection as the last time
            shown = self._shown_of(rows, next(self._versions))
            self._last.put(collection_id, (rows, shown))
            return shown

        return await self._shown.get(collection_id, read, most=self.SHOWN_KEPT)

    def _shown_of(self, rows: list[tuple[Any, ...]], version: int) -> Shown:
        """The collection from its rows: itself with its owner, then its collaborators with their
        users, then its tracks with their files and the files' owners."""
        collection = self._one_collection.build(rows[0])
        owner = self._one_user.build(rows[0])
        people: dict[int, User] = {owner.id: owner}
        files: dict[int, AudioFile] = {}
        members, tracks = [], []
        for values in rows[1:]:
            if values[_KIND] == _MEMBER_ROW:
                members.append(self._one_member.build(values))
            else:
                tracks.append(self._one_track.build(values))
                files[values[_ONE_FILE]] = self._one_file.build(values)
            user_id = values[_ONE_USER]
            if user_id not in people:
                people[user_id] = self._one_user.build(values)
        collection.__dict__.update(tracks=tracks, collaborators=members)
        return Shown(collection, files, people, version)

    def _statements(self, scope: Scope, typed: bool) -> tuple[Query, Query]:
        queries = self._queries.get((scope, typed))
        if queries is None:
            page, count = _listing(scope, typed), page_statements(scope, typed).count
            queries = self._queries[scope, typed] = (self._reads.query(page), self._reads.query(count))
        return queries

    def _page_of(self, rows: list[Any], skip: int) -> Page[Listed]:
        """Rows of the listing: a collection's columns, its owner's, its totals and the list's
        length, then one collaborator's and their user's (empty for a collection without any)."""
        found: dict[int, Listed] = {}
        people: dict[int, User] = {}  # each user built once per page
        for row in rows:
            values = tuple(row)
            listed = found.get(values[0])
            if listed is None:
                collection = self._collection.build(values)
                collection.__dict__.update(tracks=[], collaborators=[])
                owner_id = values[_COLLECTION_END]
                owner = people.get(owner_id) or people.setdefault(owner_id, self._owner.build(values))
                totals = TrackTotals(int(values[_TRACK_COUNT] or 0), float(values[_DURATION] or 0.0))
                listed = found[values[0]] = Listed(collection, owner, totals, {})
            if values[_MEMBER_START] is None or values[_PERSON_START] is None:
                continue
            listed.collection.collaborators.append(self._member.build(values))
            user_id = values[_PERSON_START]
            person = people.get(user_id) or people.setdefault(user_id, self._person.build(values))
            listed.people[user_id] = person  # type: ignore[index]
        return Page(list(found.values()), int(tuple(rows[0])[_TOTAL]), skip)
