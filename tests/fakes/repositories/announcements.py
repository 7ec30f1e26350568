"""Announcements, in memory."""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

from sono.application.values import Page
from sono.domain.announcements import Announcement
from sono.domain.users import User
from tests.fakes.repositories.base import FakeRepository, fake_table, foreign_key, newest, page, repository

fake_table("announcements", "announcements", created="created_date")
foreign_key("announcements", "created_by_id", "users", "set null")


@repository("announcements")
class FakeAnnouncementRepository(FakeRepository):
    async def add(self, announcement: Announcement) -> Announcement:
        return self.session.insert(self.db.announcements, announcement)

    async def get(self, announcement_id: int) -> Announcement | None:
        return self.session.get(self.db.announcements, announcement_id)

    async def delete(self, announcement: Announcement) -> None:
        self.session.delete(self.db.announcements, announcement)

    async def authors(self, user_ids: Sequence[int]) -> dict[int, User]:
        wanted = set(user_ids)
        return {user.id: user for user in self.session.select(self.db.users, lambda u: u.id in wanted) if user.id}

    async def list(self, *, published_only: bool, skip: int, limit: int) -> Page[Announcement]:
        if published_only:
            published = self.session.select(self.db.announcements, attrgetter("is_published"))
            return page(newest(published, "published_date"), skip, limit)
        return page(newest(self.session.select(self.db.announcements), "created_date"), skip, limit)
