"""Collections (whole aggregates), in memory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from operator import attrgetter

from sono.adapters.memory.repositories.base import FakeRepository, newest, repository
from sono.domain.collections import Collaborator, Collection, CollectionTrack


@repository("collections")
class FakeCollectionRepository(FakeRepository):
    async def add(self, collection: Collection) -> Collection:
        self.session.insert(self.db.collections, collection)
        self._fill_children(collection)
        return collection

    async def get(self, collection_id: int, *, for_update: bool = False) -> Collection | None:
        return self.session.get(self.db.collections, collection_id)

    async def save(self, collection: Collection) -> None:
        self.session.touch(self.db.collections, collection)
        self._fill_children(collection)
        self.db.collections.check_unique([collection])

    async def containing_audio(self, audio_file_ids: Sequence[int]) -> list[Collection]:
        wanted = set(audio_file_ids)
        found = self.session.select(self.db.collections, lambda c: bool(wanted.intersection(c.audio_file_ids)))
        return sorted(found, key=attrgetter("id"))

    async def owned_by(self, owner_id: int) -> list[Collection]:
        return newest(self.session.select(self.db.collections, lambda c: c.owner_id == owner_id), "created_date")

    async def member_of(self, user_id: int) -> list[Collection]:
        def member(collection: Collection) -> bool:
            return any(c.user_id == user_id for c in collection.collaborators)

        return newest(self.session.select(self.db.collections, member), "created_date")

    async def cover_keys_for_owner(self, owner_id: int) -> list[str]:
        owned = sorted(self.db.collections.values(), key=attrgetter("id"))
        return [c.cover_art_key for c in owned if c.owner_id == owner_id and c.cover_art_key is not None]

    async def delete(self, collection: Collection) -> None:
        self.session.delete(self.db.collections, collection)

    async def delete_for_owner(self, owner_id: int) -> list[str]:
        deleted = self.session.delete_where(self.db.collections, lambda collection: collection.owner_id == owner_id)
        return [c.cover_art_key for c in deleted if c.cover_art_key is not None]

    def _fill_children(self, collection: Collection) -> None:
        """What the database does for new track and collaborator rows: ids, the parent's id and
        the creation time."""
        children: list[CollectionTrack | Collaborator] = [*collection.tracks, *collection.collaborators]
        for child in children:
            if child.id is None:
                child.id = self.db.new_child_id()
            child.collection_id = collection.id
            if child.added_date is None:
                child.added_date = datetime.now(UTC)


@repository("collection_queries")
class FakeCollectionQueries(FakeRepository):
    """The read side of collection lists (built with the collections feature)."""
