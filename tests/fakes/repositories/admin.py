"""The read side of the admin screens, in memory."""

from __future__ import annotations

from collections.abc import Sequence

from sono.application.admin.ports import CatalogueStats, Usage
from sono.application.values import Page
from sono.domain.collections import CollectionType
from sono.domain.users import User
from tests.fakes.repositories.base import FakeRepository, contains, newest, page, repository


@repository("admin_queries")
class FakeAdminQueries(FakeRepository):
    async def stats(self) -> CatalogueStats:
        people = list(self.db.users.values())
        files = list(self.db.audio_files.values())
        kept = list(self.db.collections.values())

        def of_kind(kind: CollectionType) -> int:
            return sum(1 for c in kept if c.collection_type == kind)

        return CatalogueStats(
            total_users=len(people),
            active_users=sum(1 for u in people if u.is_active),
            superusers=sum(1 for u in people if u.is_superuser),
            total_audio_files=len(files),
            total_storage_bytes=sum(f.file_size for f in files),
            total_collections=len(kept),
            total_albums=of_kind(CollectionType.ALBUM),
            total_playlists=of_kind(CollectionType.PLAYLIST),
            total_compilations=of_kind(CollectionType.COMPILATION),
            public_collections=sum(1 for c in kept if c.is_public),
            collaborative_collections=sum(1 for c in kept if c.is_collaborative),
        )

    async def users(self, *, query: str | None, skip: int, limit: int) -> Page[User]:
        def matches(user: User) -> bool:
            return not query or any(contains(text, query) for text in (user.username, user.email, user.display_name))

        return page(newest(self.session.select(self.db.users, matches), "created_at"), skip, limit)

    async def usage(self, user_ids: Sequence[int]) -> dict[int, Usage]:
        wanted = set(user_ids)
        usage: dict[int, Usage] = {}
        for audio in self.db.audio_files.values():
            if audio.owner_id in wanted:
                before = usage.get(audio.owner_id, Usage())
                usage[audio.owner_id] = Usage(before.audio_files + 1, before.storage_bytes + audio.file_size)
        return usage
