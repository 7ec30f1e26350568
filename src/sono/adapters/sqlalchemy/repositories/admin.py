"""The read side of the admin screens: aggregate statements, never rows counted in Python."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, true

from sono.adapters.sqlalchemy.repositories.base import SqlRepository, like_pattern, newest, repository
from sono.adapters.sqlalchemy.tables import audio_files, collections, users
from sono.application.admin.ports import CatalogueStats, Usage
from sono.application.common import Page
from sono.domain.collections import CollectionType
from sono.domain.users import User


def _count(where: ColumnElement[bool] | None = None) -> ColumnElement[int]:
    return func.count() if where is None else func.count().filter(where)


_USER_COUNTS = select(
    _count().label("total_users"),
    _count(users.c.is_active).label("active_users"),
    _count(users.c.is_superuser).label("superusers"),
).subquery("user_counts")
_AUDIO_COUNTS = (
    select(
        _count().label("total_audio_files"),
        func.coalesce(func.sum(audio_files.c.file_size), 0).label("total_storage_bytes"),
    )
    .select_from(audio_files)
    .subquery("audio_counts")
)
_kind = collections.c.collection_type
_COLLECTION_COUNTS = (
    select(
        _count().label("total_collections"),
        _count(_kind == CollectionType.ALBUM).label("total_albums"),
        _count(_kind == CollectionType.PLAYLIST).label("total_playlists"),
        _count(_kind == CollectionType.COMPILATION).label("total_compilations"),
        _count(collections.c.is_public).label("public_collections"),
        _count(collections.c.is_collaborative).label("collaborative_collections"),
    )
    .select_from(collections)
    .subquery("collection_counts")
)
_STATS: Select[Any] = select(_USER_COUNTS, _AUDIO_COUNTS, _COLLECTION_COUNTS).select_from(
    _USER_COUNTS.join(_AUDIO_COUNTS, true()).join(_COLLECTION_COUNTS, true())
)
"""One row: three one-row aggregates side by side, each table scanned once."""


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
