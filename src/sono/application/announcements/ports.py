"""Where announcements are kept."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sono.application.values import Page
from sono.domain.announcements import Announcement
from sono.domain.users import User


class AnnouncementRepository(Protocol):
    async def add(self, announcement: Announcement) -> Announcement: ...
    async def get(self, announcement_id: int) -> Announcement | None: ...
    async def list(self, *, published_only: bool, skip: int, limit: int) -> Page[Announcement]:
        """Published only: newest ``published_date`` first; otherwise newest ``created_date`` first."""

    async def authors(self, user_ids: Sequence[int]) -> dict[int, User]:
        """The authors of a page of announcements, by id, in one read (missing ids are left out)."""

    async def delete(self, announcement: Announcement) -> None: ...
