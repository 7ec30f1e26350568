"""``CollectionCatalog``: the collection lists read outside units of work, one statement per page
(through ``sono.adapters.sqlalchemy.reads``, like the public audio list).

The statement is the repository's page (``page_statements``: the page of ids with the list's
length, then their columns, owners and track totals) with each collection's collaborators and their
users joined on, one row per collaborator (one with empty collaborator columns for a collection
without any), compiled once per kind of list. On SQLite, pages are kept until any commit changes
the database (``reads.Kept``), so repeated reads of an unchanged list cost one trivial statement.
What depends on the caller beyond the list itself (``can_edit``) is decided by the use case on
every request.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import configure_mappers

from sono.adapters.sqlalchemy.reads import Kept, Listener, Query, Reads, Shape
from sono.adapters.sqlalchemy.repositories.collections import page_statements
from sono.adapters.sqlalchemy.tables import collaborators, collections, start_mappers, users
from sono.application.collections.ports import Listed, Listing, Scope, TrackTotals
from sono.application.common import Page
from sono.domain.collections import Collaborator, Collection
from sono.domain.users import User

_MEMBER, _PERSON = "sono_member_", "sono_person_"
_COLLECTION_END = len(collections.c)
_OWNER_END = _COLLECTION_END + len(users.c)
_TRACK_COUNT, _DURATION, _TOTAL = _OWNER_END, _OWNER_END + 1, _OWNER_END + 2
_MEMBER_START = _OWNER_END + 3
_PERSON_START = _MEMBER_START + len(collaborators.c)


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
    """The ``CollectionCatalog`` port on ``reads``. On SQLite, pages are kept while the database
    is unchanged (``reads.Kept``), keyed by the listing (which names the caller for their own
    lists), ``skip`` and ``limit``."""

    PAGES_KEPT = 256  # 0: keep none (every request reads its page)

    def __init__(self, reads: Reads) -> None:
        start_mappers()
        configure_mappers()  # the shapes build instances through the mapper before any session does
        self._reads = reads
        self._queries: dict[tuple[Scope, bool], tuple[Query, Query]] = {}
        dialect = reads.dialect
        self._collection = Shape(Collection, collections.c, 0, dialect)
        self._owner = Shape(User, users.c, _COLLECTION_END, dialect)
        self._member = Shape(Collaborator, collaborators.c, _MEMBER_START, dialect)
        self._person = Shape(User, users.c, _PERSON_START, dialect)
        self._pages: Kept[Page[Listed]] = Kept(reads)

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
