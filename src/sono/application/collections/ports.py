"""Where collections are kept: the aggregate's repository and the read side of the lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sono.domain.collections import Collection


class CollectionRepository(Protocol):
    """Loads and saves whole ``Collection`` aggregates (with their tracks and collaborators)."""

    async def add(self, collection: Collection) -> Collection: ...
    async def get(self, collection_id: int, *, for_update: bool = False) -> Collection | None:
        """``for_update`` serialises writers of one collection: a row lock on PostgreSQL (SQLite's
        writer lock does it there)."""

    async def save(self, collection: Collection) -> None:
        """Write the aggregate's changes now (its track positions safely, whatever moved)."""

    async def containing_audio(self, audio_file_ids: Sequence[int]) -> list[Collection]:
        """The collections holding any of these audio files, locked for update, by id."""

    async def owned_by(self, owner_id: int) -> list[Collection]:
        """Newest first."""

    async def member_of(self, user_id: int) -> list[Collection]:
        """Collections the user collaborates on, newest first."""

    async def cover_keys_for_owner(self, owner_id: int) -> list[str]: ...
    async def delete(self, collection: Collection) -> None: ...
    async def delete_for_owner(self, owner_id: int) -> list[str]:
        """Delete every collection of the owner, returning their cover-art keys."""


class CollectionQueries(Protocol):
    """The read side of collection lists and statistics (shaped for their screens, a fixed
    number of statements per page)."""
