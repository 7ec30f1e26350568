"""Announcements, in memory."""

from __future__ import annotations

from operator import attrgetter

from sono.adapters.memory.repositories.base import FakeRepository, newest, page, repository
from sono.application.common import Page
from sono.domain.announcements import Announcement


@repository("announcements")
class FakeAnnouncementRepository(FakeRepository):
    async def add(self, announcement: Announcement) -> Announcement:
        return self.session.insert(self.db.announcements, announcement)

    async def get(self, announcement_id: int) -> Announcement | None:
        return self.session.get(self.db.announcements, announcement_id)

    async def delete(self, announcement: Announcement) -> None:
        self.session.delete(self.db.announcements, announcement)

    async def list(self, *, published_only: bool, skip: int, limit: int) -> Page[Announcement]:
        if published_only:
            published = self.session.select(self.db.announcements, attrgetter("is_published"))
            return page(newest(published, "published_date"), skip, limit)
        return page(newest(self.session.select(self.db.announcements), "created_date"), skip, limit)
