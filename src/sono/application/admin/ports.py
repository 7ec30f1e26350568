"""The read side of the admin screens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sono.application.values import Page
from sono.domain.users import User


@dataclass(frozen=True, slots=True)
class CatalogueStats:
    """Counts over the whole catalogue."""

    total_users: int
    active_users: int
    superusers: int
    total_audio_files: int
    total_storage_bytes: int
    total_collections: int
    total_albums: int
    total_playlists: int
    total_compilations: int
    public_collections: int
    collaborative_collections: int

    @property
    def inactive_users(self) -> int:
        return self.total_users - self.active_users


@dataclass(frozen=True, slots=True)
class Usage:
    """What a user stores: their audio files and the bytes those take."""

    audio_files: int = 0
    storage_bytes: int = 0


class AdminQueries(Protocol):
    """Statistics and lists for admins, computed by aggregate queries (a fixed number of
    statements whatever the size of the catalogue)."""

    async def stats(self) -> CatalogueStats:
        """Users, audio files and collections counted in one statement."""

    async def users(self, *, query: str | None, skip: int, limit: int) -> Page[User]:
        """Every user (active or not), newest ``created_at`` first; with ``query``, those whose
        username, email or display name contains it case-insensitively (``%`` and ``_`` literal)."""

    async def usage(self, user_ids: Sequence[int]) -> dict[int, Usage]:
        """The usage of each of these users, in one statement (users storing nothing are left out)."""
