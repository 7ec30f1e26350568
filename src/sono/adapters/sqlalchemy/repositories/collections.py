"""Collections: the aggregate (with its tracks and collaborators) and the read side of the lists."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    bindparam,
    case,
    delete,
    exists,
    func,
    select,
)
from sqlalchemy.orm.attributes import get_history

from sono.adapters.sqlalchemy.reads import Shape
from sono.adapters.sqlalchemy.repositories.base import SqlRepository, newest, repository, unique_violations_as_conflict
from sono.adapters.sqlalchemy.repositories.library import collection_condition
from sono.adapters.sqlalchemy.tables.accounts import users
from sono.adapters.sqlalchemy.tables.audio import audio_files
from sono.adapters.sqlalchemy.tables.collections import collaborators, collection_tracks, collections
from sono.application.collections.ports import CollectionCounts, Listing, Scope
from sono.application.collections.views import Listed, TrackTotals
from sono.domain.collections import Collaborator, Collection, CollectionType
from sono.domain.library import Everything
from sono.domain.users import User


@repository("collections")
class SqlCollectionRepository(SqlRepository):
    """Loads whole aggregates (tracks and collaborators come with a collection) and saves them.
    ``save`` writes changed track positions in two passes (first to negative placeholders, then to
    their places), so ``(collection_id, track_order)`` stays unique after every row, which is when
    PostgreSQL and SQLite check it."""

    _newest_first = newest(collections.c.created_date, collections.c.id)

    async def add(self, collection: Collection) -> Collection:
        return await self._insert(collection)

    async def get(self, collection_id: int, *, for_update: bool = False) -> Collection | None:
        if for_update:
            return await self.session.get(Collection, collection_id, with_for_update=True, populate_existing=True)
        return await self.session.get(Collection, collection_id)

    async def owner_of(self, collection_id: int) -> int | None:
        return await self.session.scalar(select(collections.c.owner_id).where(collections.c.id == collection_id))

    async def save(self, collection: Collection) -> None:
        moved = [
            track for track in collection.tracks if track.id is None or get_history(track, "track_order").has_changes()
        ]
        with unique_violations_as_conflict():
            if moved:
                places = [track.track_order for track in moved]
                for track in moved:
                    track.track_order = -track.track_order
                await self.session.flush()
                for track, place in zip(moved, places, strict=True):
                    track.track_order = place
            await self.session.flush()

    async def containing_audio(self, audio_file_ids: Sequence[int]) -> list[Collection]:
        if not audio_file_ids:
            return []
        holds = exists().where(
            collection_tracks.c.collection_id == collections.c.id,
            collection_tracks.c.audio_file_id.in_(list(audio_file_ids)),
        )
        statement = (
            select(Collection)
            .where(holds)
            .order_by(collections.c.id)
            .with_for_update(of=collections)
            .execution_options(populate_existing=True)
        )
        return await self._all(statement)

    async def owned_by(self, owner_id: int) -> list[Collection]:
        statement = select(Collection).where(collections.c.owner_id == owner_id).order_by(*self._newest_first)
        return await self._all(statement)

    async def member_of(self, user_id: int) -> list[Collection]:
        member = exists().where(collaborators.c.collection_id == collections.c.id, collaborators.c.user_id == user_id)
        return await self._all(select(Collection).where(member).order_by(*self._newest_first))

    async def cover_keys_for_owner(self, owner_id: int) -> list[str]:
        keys = (
            select(collections.c.cover_art_key)
            .where(collections.c.owner_id == owner_id, collections.c.cover_art_key.is_not(None))
            .order_by(collections.c.id)
        )
        return [key for key in await self.session.scalars(keys) if key is not None]

    async def delete(self, collection: Collection) -> None:
        await self._delete(collection)

    async def delete_for_owner(self, owner_id: int) -> list[str]:
        statement = delete(Collection).where(collections.c.owner_id == owner_id).returning(collections.c.cover_art_key)
        result = await self.session.execute(statement.execution_options(synchronize_session="fetch"))
        return [key for key in result.scalars() if key is not None]


_OWNER, _PERSON = "owner__", "person__"
# The rows of the Core statements below: a collection's columns then its owner's (then its track
# totals), or a collaborator's columns then their user's; each built by a ``Shape``.
_COLLECTION_COLUMNS = list(collections.c)
_OWNER_COLUMNS = [column.label(f"{_OWNER}{column.name}") for column in users.c]
_COLLABORATOR_COLUMNS = list(collaborators.c)
_PERSON_COLUMNS = [column.label(f"{_PERSON}{column.name}") for column in users.c]
_COLLECTION = Shape(Collection, collections.c)
_OWNER_OF = Shape(User, users.c, len(collections.c))
_TRACK_COUNT, _DURATION = _OWNER_OF.end, _OWNER_OF.end + 1
_COLLABORATOR = Shape(Collaborator, collaborators.c)
_PERSON_OF = Shape(User, users.c, len(collaborators.c))
_NEWEST_FIRST = newest(collections.c.created_date, collections.c.id)
_USER_ID = bindparam("user_id", type_=Integer)
_TYPE = bindparam("collection_type", type_=collections.c.collection_type.type)
_ANY_USER = 0  # whose lists the statements are compiled from (``_USER_ID`` stands for the caller)


@dataclass(frozen=True)
class _PageStatements:
    page: Select[Any]
    count: Select[Any]


def _track_totals() -> tuple[Any, Any]:
    """A listed collection's ``track_count`` and ``duration``, as subqueries of its row."""
    in_collection = collection_tracks.c.collection_id == collections.c.id
    track_count = select(func.count()).select_from(collection_tracks).where(in_collection).scalar_subquery()
    duration = (
        select(func.coalesce(func.sum(audio_files.c.duration), 0.0))
        .select_from(collection_tracks.join(audio_files, audio_files.c.id == collection_tracks.c.audio_file_id))
        .where(in_collection)
        .scalar_subquery()
    )
    return track_count.label("track_count"), duration.label("duration")


@functools.cache
def page_statements(scope: Scope, typed: bool) -> _PageStatements:
    """The statements of one kind of list, built once (parameters: ``user_id``,
    ``collection_type``, ``skip``, ``limit``): the page of ids chosen in a subquery (with the
    list's length, counted by a window function), then their columns, owners and track totals for
    those rows only. ``count`` is for a page beyond the end, which has no row to carry the length.
    The collections chosen are those of ``Listing.spec`` (compiled, the caller's id the ``user_id``
    parameter)."""
    spec = Listing(scope, _ANY_USER).spec()
    chosen = select(collections.c.id)
    if spec != Everything():
        chosen = chosen.join(users, users.c.id == collections.c.owner_id)
    chosen = chosen.where(collection_condition(spec, users, _USER_ID))
    if typed:
        chosen = chosen.where(collections.c.collection_type == _TYPE)
    counted = chosen.add_columns(func.count().over().label("total"))  # the whole list's length, on every row
    ids = counted.order_by(*_NEWEST_FIRST).offset(bindparam("skip")).limit(bindparam("limit")).subquery("page")
    page = (
        select(*_COLLECTION_COLUMNS, *_OWNER_COLUMNS, *_track_totals(), ids.c.total)
        .select_from(
            collections.join(ids, ids.c.id == collections.c.id).join(users, users.c.id == collections.c.owner_id)
        )
        .order_by(*_NEWEST_FIRST)
    )
    return _PageStatements(page, select(func.count()).select_from(chosen.subquery()))


_LISTED_BY_ID = (
    select(*_COLLECTION_COLUMNS, *_OWNER_COLUMNS, *_track_totals())
    .join(users, users.c.id == collections.c.owner_id)
    .where(collections.c.id.in_(bindparam("ids", expanding=True)))
)
_COLLABORATORS = (
    select(*_COLLABORATOR_COLUMNS, *_PERSON_COLUMNS)
    .join(users, users.c.id == collaborators.c.user_id)
    .where(collaborators.c.collection_id.in_(bindparam("ids", expanding=True)))
    .order_by(collaborators.c.added_date, collaborators.c.id)
)


@repository("collection_queries")
class SqlCollectionQueries(SqlRepository):
    """The read side of statistics and of the rows of collections chosen elsewhere, a fixed number
    of statements whatever the number of rows: ``listed`` two (the collections with owners and
    totals; the collaborators with their users), statistics one. They run Core statements built
    once and make detached domain objects without the ORM's identity map. (The lists' statements,
    ``page_statements``, are the catalog's.)"""

    async def listed(self, collection_ids: Sequence[int]) -> list[Listed]:
        if not collection_ids:
            return []
        rows = (await self.session.execute(_LISTED_BY_ID, {"ids": list(collection_ids)})).all()
        people: dict[int, User] = {}
        by_id = {listed.collection.id: listed for listed in (self._listed(row, people) for row in rows)}
        found = [by_id[i] for i in collection_ids if i in by_id]
        if found:
            await self._add_collaborators(found, people)
        return found

    @staticmethod
    def _listed(row: Any, people: dict[int, User]) -> Listed:
        collection = _COLLECTION.build(row)
        collection.__dict__.update(tracks=[], collaborators=[])
        totals = TrackTotals(int(row[_TRACK_COUNT] or 0), float(row[_DURATION] or 0.0))
        owner = people.get(collection.owner_id) or people.setdefault(collection.owner_id, _OWNER_OF.build(row))
        return Listed(collection, owner, totals, {})

    async def _add_collaborators(self, found: list[Listed], people: dict[int, User]) -> None:
        by_id = {listed.collection.id: listed for listed in found}
        for row in await self.session.execute(_COLLABORATORS, {"ids": list(by_id)}):
            collaborator = _COLLABORATOR.build(row)
            listed = by_id[collaborator.collection_id]
            listed.collection.collaborators.append(collaborator)
            user_id = collaborator.user_id
            person = people.get(user_id) or people.setdefault(user_id, _PERSON_OF.build(row))
            listed.people[user_id] = person  # type: ignore[index]

    async def holding(self, audio_file_id: int) -> list[tuple[Collection, User]]:
        holds = exists().where(
            collection_tracks.c.collection_id == collections.c.id, collection_tracks.c.audio_file_id == audio_file_id
        )
        statement = (
            select(*_COLLECTION_COLUMNS, *_OWNER_COLUMNS)
            .join(users, users.c.id == collections.c.owner_id)
            .where(holds)
            .order_by(collections.c.id)
        )
        found = []
        for row in await self.session.execute(statement):
            collection = _COLLECTION.build(row)
            collection.__dict__.update(tracks=[], collaborators=[])
            found.append((collection, _OWNER_OF.build(row)))
        if found:
            by_id = {collection.id: collection for collection, _ in found}
            for row in await self.session.execute(_COLLABORATORS, {"ids": list(by_id)}):
                collaborator = _COLLABORATOR.build(row)
                by_id[collaborator.collection_id].collaborators.append(collaborator)
        return found

    async def users(self, user_ids: Iterable[int]) -> dict[int, User]:
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        found = await self._all(select(User).where(users.c.id.in_(wanted)))
        return {user.id: user for user in found if user.id is not None}

    async def counts(self, *, owner_id: int | None = None) -> CollectionCounts:
        def number(condition: ColumnElement[bool]) -> Any:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)

        kind = collections.c.collection_type
        statement = select(
            func.count(),
            number(kind == CollectionType.ALBUM),
            number(kind == CollectionType.PLAYLIST),
            number(kind == CollectionType.COMPILATION),
            number(collections.c.is_public),
            number(collections.c.is_collaborative),
        ).select_from(collections)
        if owner_id is not None:
            statement = statement.where(collections.c.owner_id == owner_id)
        row = (await self.session.execute(statement)).one()
        return CollectionCounts(*(int(value or 0) for value in row))

    async def track_entries(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(collection_tracks)) or 0)
