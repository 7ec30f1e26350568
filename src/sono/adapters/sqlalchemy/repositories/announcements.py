"""Announcements."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from sono.adapters.sqlalchemy.repositories.base import SqlRepository, newest, repository
from sono.adapters.sqlalchemy.tables.accounts import users
from sono.adapters.sqlalchemy.tables.announcements import announcements
from sono.application.values import Page
from sono.domain.announcements import Announcement
from sono.domain.users import User


@repository("announcements")
class SqlAnnouncementRepository(SqlRepository):
    async def add(self, announcement: Announcement) -> Announcement:
        return await self._insert(announcement)

    async def get(self, announcement_id: int) -> Announcement | None:
        return await self.session.get(Announcement, announcement_id)

    async def delete(self, announcement: Announcement) -> None:
        await self._delete(announcement)

    async def authors(self, user_ids: Sequence[int]) -> dict[int, User]:
        if not user_ids:
            return {}
        found = await self._all(select(User).where(users.c.id.in_(list(user_ids))))
        return {user.id: user for user in found if user.id is not None}

    async def list(self, *, published_only: bool, skip: int, limit: int) -> Page[Announcement]:
        if published_only:
            statement = select(Announcement).where(announcements.c.is_published)
            order = newest(announcements.c.published_date, announcements.c.id)
        else:
            statement = select(Announcement)
            order = newest(announcements.c.created_date, announcements.c.id)
        return await self._page(statement, order, skip, limit)
