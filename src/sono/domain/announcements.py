"""Announcements published by admins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(eq=False)
class Announcement:
    title: str
    content: str
    is_published: bool = False
    created_by_id: int | None = None
    created_date: datetime | None = None
    updated_date: datetime | None = None
    published_date: datetime | None = None
    id: int | None = None

    def set_published(self, published: bool, now: datetime) -> None:
        if published and self.published_date is None:
            self.published_date = now
        self.is_published = published
