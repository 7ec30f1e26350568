"""Where announcements are kept."""

from __future__ import annotations

from typing import Protocol

from sono.application.common import Page
from sono.domain.announcements import Announcement


class AnnouncementRepository(Protocol):
    async def add(self, announcement: Announcement) -> Announcement: ...
    async def get(self, announcement_id: int) -> Announcement | None: ...
    async def list(self, *, published_only: bool, skip: int, limit: int) -> Page[Announcement]:
        """Published only: newest ``published_date`` first; otherwise newest ``created_date`` first."""

    async def delete(self, announcement: Announcement) -> None: ...
