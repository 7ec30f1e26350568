"""The read side of the admin screens: aggregate statements, never rows counted in Python."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, or_, select

from sono.adapters.sqlalchemy.repositories.base import SqlRepository, like_pattern, newest, repository
from sono.adapters.sqlalchemy.tables.accounts import users
from sono.adapters.sqlalchemy.tables.admin import catalogue_counters
from sono.adapters.sqlalchemy.tables.audio import audio_files
from sono.application.admin.ports import CatalogueStats, Usage
from sono.application.values import Page
from sono.domain.users import User

_COUNTERS = {
    "total_users": "users",
    "active_users": "active_users",
    "superusers": "superusers",
    "total_audio_files": "audio_files",
    "total_storage_bytes": "storage_bytes",
    "total_collections": "collections",
    "total_albums": "albums",
    "total_playlists": "playlists",
    "total_compilations": "compilations",
    "public_collections": "public_collections",
    "collaborative_collections": "collaborative_collections",
}
_STATS: Select[Any] = select(
    *(func.coalesce(func.sum(catalogue_counters.c[column]), 0).label(name) for name, column in _COUNTERS.items())
)
"""One row: the sums of the 16 shards of the counters the database keeps (migration 0003), whatever
the size of the catalogue."""


@repository("admin_queries")
class SqlAdminQueries(SqlRepository):
    async def stats(self) -> CatalogueStats:
        row = (await self.session.execute(_STATS)).one()
        return CatalogueStats(**{name: int(value or 0) for name, value in row._mapping.items()})

    async def users(self, *, query: str | None, skip: int, limit: int) -> Page[User]:
        statement = select(User)
        if query:
            pattern = like_pattern(query.lower())
            statement = statement.where(
                or_(
                    func.lower(users.c.username).like(pattern, escape="\\"),
                    func.lower(users.c.email).like(pattern, escape="\\"),
                    func.lower(users.c.display_name).like(pattern, escape="\\"),
                )
            )
        return await self._page(statement, newest(users.c.created_at, users.c.id), skip, limit)

    async def usage(self, user_ids: Sequence[int]) -> dict[int, Usage]:
        if not user_ids:
            return {}
        statement = (
            select(audio_files.c.owner_id, func.count(), func.coalesce(func.sum(audio_files.c.file_size), 0))
            .where(audio_files.c.owner_id.in_(list(user_ids)))
            .group_by(audio_files.c.owner_id)
        )
        rows = await self.session.execute(statement)
        return {owner_id: Usage(int(files), int(size)) for owner_id, files, size in rows}
