"""Collections: the aggregate (with its tracks and collaborators) and the read side of the lists."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, exists, select
from sqlalchemy.orm.attributes import get_history

from sono.adapters.sqlalchemy.repositories.base import SqlRepository, newest, repository, unique_violations_as_conflict
from sono.adapters.sqlalchemy.tables import collaborators, collection_tracks, collections
from sono.domain.collections import Collection


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
    """The read side of collection lists (built with the collections feature)."""
