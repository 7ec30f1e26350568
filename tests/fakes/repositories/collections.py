"""Collections (whole aggregates), in memory."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from sono.application.collections.ports import CollectionCounts
from sono.application.collections.views import Listed, TrackTotals
from sono.domain.collections import Collaborator, Collection, CollectionTrack, CollectionType
from sono.domain.users import User
from tests.fakes.repositories.base import (
    FakeDatabase,
    FakeRepository,
    FakeSession,
    FakeTable,
    Unique,
    fake_table,
    foreign_key,
    newest,
    on_delete,
    repository,
)


def _track_keys(attribute: str) -> Callable[[Collection], Iterable[Hashable]]:
    def keys(collection: Collection) -> Iterable[Hashable]:
        return [(collection.id, getattr(track, attribute)) for track in collection.tracks]

    return keys


# Collections are stored as whole aggregates: their tracks and collaborators live in the
# aggregate's lists (the SQL schema's ``collection_tracks`` and ``collaborators`` tables), so their
# unique constraints are the collection's, and what their foreign keys do is ``_delete_children``.
fake_table(
    "collections",
    "collections",
    unique=[
        Unique("uq_collection_tracks_collection_id_audio_file_id", _track_keys("audio_file_id")),
        Unique("uq_collection_tracks_collection_id_track_order", _track_keys("track_order")),
        Unique(
            "uq_collaborators_collection_id_user_id",
            lambda collection: [(collection.id, c.user_id) for c in collection.collaborators],
        ),
    ],
    created="created_date",
)
foreign_key("collections", "owner_id", "users")


@on_delete
def _delete_children(session: FakeSession, table: FakeTable[Any], key: Any) -> None:
    """The foreign keys of the rows collections hold: ``collection_tracks.audio_file_id``
    (cascade), ``collaborators.user_id`` (cascade), and their ``added_by_id`` (set null)."""
    db = session.database
    if table is not db.audio_files and table is not db.users:
        return
    for collection in list(db.collections.values()):
        session.touch(db.collections, collection)
        if table is db.audio_files:
            collection.tracks[:] = [t for t in collection.tracks if t.audio_file_id != key]
            continue
        collection.collaborators[:] = [c for c in collection.collaborators if c.user_id != key]
        children: list[CollectionTrack | Collaborator] = [*collection.tracks, *collection.collaborators]
        for child in children:
            if child.added_by_id == key:
                child.added_by_id = None


@repository("collections")
class FakeCollectionRepository(FakeRepository):
    async def add(self, collection: Collection) -> Collection:
        self.session.insert(self.db.collections, collection)
        self._fill_children(collection)
        return collection

    async def get(self, collection_id: int, *, for_update: bool = False) -> Collection | None:
        return self.session.get(self.db.collections, collection_id)

    async def owner_of(self, collection_id: int) -> int | None:
        collection = self.db.collections.get(collection_id)
        return collection.owner_id if collection is not None else None

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


def listed(database: FakeDatabase, collection: Collection) -> Listed:
    """A collection as a list shows it, as the database returns it: a copy without its tracks,
    with their totals, its owner and its collaborators' users."""
    files = [database.audio_files.get(track.audio_file_id) for track in collection.tracks]
    known = [audio for audio in files if audio is not None]
    totals = TrackTotals(len(known), float(sum(audio.duration or 0.0 for audio in known)))
    users = database.users
    people = {c.user_id: users[c.user_id] for c in collection.collaborators if c.user_id in users}
    shown = replace(collection, tracks=[], collaborators=list(collection.collaborators))
    return Listed(shown, users[collection.owner_id], totals, people)


@repository("collection_queries")
class FakeCollectionQueries(FakeRepository):
    """The read side of collection statistics and of rows chosen elsewhere, over the fake tables."""

    async def listed(self, collection_ids: Sequence[int]) -> list[Listed]:
        return [listed(self.db, self.db.collections[i]) for i in collection_ids if i in self.db.collections]

    async def holding(self, audio_file_id: int) -> list[tuple[Collection, User]]:
        found = self.session.select(self.db.collections, lambda c: audio_file_id in c.audio_file_ids)
        owned = [(c, self.db.users.get(c.owner_id)) for c in sorted(found, key=attrgetter("id"))]
        return [(c, owner) for c, owner in owned if owner is not None]

    async def users(self, user_ids: Iterable[int]) -> dict[int, User]:
        found = (self.session.get(self.db.users, user_id) for user_id in set(user_ids))
        return {user.id: user for user in found if user is not None and user.id is not None}

    async def counts(self, *, owner_id: int | None = None) -> CollectionCounts:
        rows = [c for c in self.db.collections.values() if owner_id is None or c.owner_id == owner_id]

        def number(kind: CollectionType) -> int:
            return sum(1 for c in rows if c.collection_type == kind)

        return CollectionCounts(
            total=len(rows),
            albums=number(CollectionType.ALBUM),
            playlists=number(CollectionType.PLAYLIST),
            compilations=number(CollectionType.COMPILATION),
            public=sum(1 for c in rows if c.is_public),
            collaborative=sum(1 for c in rows if c.is_collaborative),
        )

    async def track_entries(self) -> int:
        return sum(len(c.tracks) for c in self.db.collections.values())
