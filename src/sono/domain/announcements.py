"""Announcements published by admins: a draft until published; the first publication dates it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

TITLE_MAX = 200
CONTENT_MAX = 20_000


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
        """Publish or unpublish. ``published_date`` is set by the first publication and kept
        afterwards (unpublishing hides the announcement; publishing it again keeps its date)."""
        if published and self.published_date is None:
            self.published_date = now
        self.is_published = published


def title_problems(title: str) -> list[str]:
    if not title.strip() or len(title) > TITLE_MAX:
        return [f"Title must be 1 to {TITLE_MAX} characters"]
    return []


def content_problems(content: str) -> list[str]:
    """Content is Markdown that clients render; it is stored exactly as given."""
    if not content.strip() or len(content) > CONTENT_MAX:
        return [f"Content must be 1 to {CONTENT_MAX} characters"]
    return []
