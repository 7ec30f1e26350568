"""Collections: the aggregate (with its tracks and collaborators) and the read side of the lists."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, delete, exists, false, func, or_, select, true
from sqlalchemy.orm import raiseload
from sqlalchemy.orm.attributes import get_history

from sono.adapters.sqlalchemy.repositories.base import SqlRepository, newest, repository, unique_violations_as_conflict
from sono.adapters.sqlalchemy.tables import audio_files, collaborators, collection_tracks, collections, users
from sono.application.collections.ports import CollectionCounts, Listing, Scope, TrackTotals
from sono.application.common import Page
from sono.domain.collections import Collection, CollectionType
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


@repository("collection_queries")
class SqlCollectionQueries(SqlRepository):
    """The read side of collection lists and statistics: each method one statement (a page two at
    most, plus the ``selectin`` load of its collaborators), whatever the number of rows.

    Pages load ``Collection`` objects without their tracks (``raiseload``: a list that touched them
    would fail loudly instead of loading them one collection at a time)."""

    _newest_first = newest(collections.c.created_date, collections.c.id)

    async def page(self, listing: Listing, *, skip: int, limit: int) -> Page[Collection]:
        statement = select(Collection).options(raiseload(Collection.tracks))  # type: ignore[arg-type]
        if listing.scope is not Scope.ALL and listing.scope is not Scope.OWNED:
            statement = statement.join(users, users.c.id == collections.c.owner_id)
        statement = statement.where(self._scope(listing))
        if listing.collection_type is not None:
            statement = statement.where(collections.c.collection_type == listing.collection_type)
        return await self._page(statement, self._newest_first, skip, limit)

    @staticmethod
    def _scope(listing: Listing) -> ColumnElement[bool]:
        user_id = listing.user_id if listing.user_id is not None else -1
        shared = exists().where(collaborators.c.collection_id == collections.c.id, collaborators.c.user_id == user_id)
        match listing.scope:
            case Scope.ALL:
                return true()
            case Scope.OWNED:
                return collections.c.owner_id == user_id
            case Scope.PUBLIC:
                return and_(collections.c.is_public, users.c.is_active)
            case Scope.SHARED:
                return and_(shared, users.c.is_active)
            case Scope.VISIBLE:
                return or_(
                    collections.c.owner_id == user_id,
                    and_(users.c.is_active, or_(collections.c.is_public, shared)),
                )
        return false()  # pragma: no cover

    async def track_totals(self, collection_ids: Sequence[int]) -> dict[int, TrackTotals]:
        if not collection_ids:
            return {}
        statement = (
            select(
                collection_tracks.c.collection_id,
                func.count(),
                func.coalesce(func.sum(audio_files.c.duration), 0.0),
            )
            .join(audio_files, audio_files.c.id == collection_tracks.c.audio_file_id)
            .where(collection_tracks.c.collection_id.in_(list(collection_ids)))
            .group_by(collection_tracks.c.collection_id)
        )
        rows = await self.session.execute(statement)
        return {row[0]: TrackTotals(int(row[1]), float(row[2] or 0.0)) for row in rows}

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
