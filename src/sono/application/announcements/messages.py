"""What entrypoints may ask of announcements, and what they get back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from sono.application.accounts.views import UserView
from sono.application.messages import Audience, Command, Query
from sono.application.values import UNSET, Page
from sono.domain.announcements import Announcement

ANNOUNCEMENT_NOT_FOUND = "Announcement not found"


@dataclass(frozen=True, slots=True)
class AnnouncementView:
    """An announcement and its author with their picture's URL (resolved through the media port)."""

    announcement: Announcement
    author: UserView | None  # None when the author's account is gone


@dataclass(frozen=True, slots=True)
class AnnouncementPage:
    """A page of announcements and the users who wrote them (by id, each presented once with
    their picture's URL; an author whose account is gone is missing)."""

    page: Page[Announcement]
    authors: dict[int, UserView]


# ---------------------------------------------------------------------- everyone


@dataclass(frozen=True, slots=True)
class ListPublished(Query[AnnouncementPage]):
    """Published announcements, newest ``published_date`` first."""

    skip: int = 0
    limit: int = 20


@dataclass(frozen=True, slots=True)
class GetPublished(Query[AnnouncementView]):
    """A published announcement; a draft is not found here."""

    announcement_id: int


# ---------------------------------------------------------------------- admins


@dataclass(frozen=True, slots=True)
class ListAnnouncements(Query[AnnouncementPage]):
    """Every announcement (drafts too), newest first; ``published_only`` as the public list."""

    audience: ClassVar[Audience] = Audience.ADMIN
    published_only: bool = False
    skip: int = 0
    limit: int = 100


@dataclass(frozen=True, slots=True)
class GetAnnouncement(Query[AnnouncementView]):
    audience: ClassVar[Audience] = Audience.ADMIN
    announcement_id: int


@dataclass(frozen=True, slots=True)
class CreateAnnouncement(Command[AnnouncementView]):
    audience: ClassVar[Audience] = Audience.ADMIN
    title: str
    content: str
    is_published: bool = False


@dataclass(frozen=True, slots=True)
class UpdateAnnouncement(Command[AnnouncementView]):
    """Change the fields that were sent (``UNSET`` ones stay). The first publication sets
    ``published_date``; later edits keep it."""

    audience: ClassVar[Audience] = Audience.ADMIN
    announcement_id: int
    title: Any = UNSET
    content: Any = UNSET
    is_published: Any = UNSET


@dataclass(frozen=True, slots=True)
class DeleteAnnouncement(Command[None]):
    audience: ClassVar[Audience] = Audience.ADMIN
    announcement_id: int
