"""Announcements: admins write and publish them, everyone reads the published ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sono.application.admin.service import require_admin
from sono.application.common import UNSET, Page, Principal, Problems, audit, hold_users
from sono.application.ports import Clock
from sono.application.uow import UnitOfWork, UnitOfWorkFactory
from sono.domain.announcements import Announcement, content_problems, title_problems
from sono.domain.errors import NotFound
from sono.domain.gdpr import AuditEvent
from sono.domain.users import User

ANNOUNCEMENT_NOT_FOUND = "Announcement not found"


@dataclass(frozen=True, slots=True)
class AnnouncementPage:
    """A page of announcements and the users who wrote them (by id; an author whose account is
    gone is missing)."""

    page: Page[Announcement]
    authors: dict[int, User]


@dataclass(frozen=True, slots=True)
class AnnouncementView:
    announcement: Announcement
    author: User | None


class AnnouncementService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    # ------------------------------------------------------------------ everyone

    async def published(self, *, skip: int, limit: int) -> AnnouncementPage:
        """Published announcements, newest ``published_date`` first."""
        return await self._page(published_only=True, skip=skip, limit=limit)

    async def published_one(self, announcement_id: int) -> AnnouncementView:
        """A published announcement; a draft is not found here."""
        async with self._uow(read_only=True) as uow:
            announcement = await uow.announcements.get(announcement_id)
            if announcement is None or not announcement.is_published:
                raise NotFound(ANNOUNCEMENT_NOT_FOUND)
            return await self._view(uow, announcement)

    # ------------------------------------------------------------------ admins

    async def list(self, admin: Principal, *, published_only: bool, skip: int, limit: int) -> AnnouncementPage:
        """Every announcement (drafts too), newest first; ``published_only`` as the public list."""
        require_admin(admin)
        return await self._page(published_only=published_only, skip=skip, limit=limit)

    async def get(self, admin: Principal, announcement_id: int) -> AnnouncementView:
        require_admin(admin)
        async with self._uow(read_only=True) as uow:
            return await self._view(uow, await self._existing(uow, announcement_id))

    async def create(
        self, admin: Principal, title: str, content: str, is_published: bool = False, *, ip: str | None = None
    ) -> AnnouncementView:
        require_admin(admin)
        problems = Problems()
        problems.check("title", title_problems(title))
        problems.check("content", content_problems(content))
        problems.raise_if_any()
        now = self._clock.now()
        announcement = Announcement(
            title=title, content=content, created_by_id=admin.user_id, created_date=now, updated_date=now
        )
        announcement.set_published(is_published, now)
        async with self._uow() as uow:
            await hold_users(uow, admin)  # the author
            await uow.announcements.add(announcement)
            await self._audit(uow, admin, "announcement.create", announcement, ip, is_published=is_published)
            await uow.commit()
        return AnnouncementView(announcement, admin.user)

    async def update(
        self,
        admin: Principal,
        announcement_id: int,
        *,
        title: Any = UNSET,
        content: Any = UNSET,
        is_published: Any = UNSET,
        ip: str | None = None,
    ) -> AnnouncementView:
        """Change the fields that were sent. The first publication sets ``published_date``; later
        edits keep it."""
        require_admin(admin)
        problems = Problems()
        if title is not UNSET:
            problems.check("title", title_problems(title))
        if content is not UNSET:
            problems.check("content", content_problems(content))
        problems.raise_if_any()
        async with self._uow() as uow:
            await hold_users(uow, admin)  # the audit's actor
            announcement = await self._existing(uow, announcement_id)
            now = self._clock.now()
            changed = []
            if title is not UNSET and title != announcement.title:
                announcement.title = title
                changed.append("title")
            if content is not UNSET and content != announcement.content:
                announcement.content = content
                changed.append("content")
            if is_published is not UNSET and is_published != announcement.is_published:
                announcement.set_published(is_published, now)
                changed.append("is_published")
            if changed:
                announcement.updated_date = now
                await self._audit(uow, admin, "announcement.update", announcement, ip, changed=changed)
            view = await self._view(uow, announcement)
            await uow.commit()
        return view

    async def delete(self, admin: Principal, announcement_id: int, *, ip: str | None = None) -> None:
        require_admin(admin)
        async with self._uow() as uow:
            await hold_users(uow, admin)  # the audit's actor
            announcement = await self._existing(uow, announcement_id)
            await self._audit(uow, admin, "announcement.delete", announcement, ip)
            await uow.announcements.delete(announcement)
            await uow.commit()

    # ------------------------------------------------------------------ helpers

    async def _page(self, *, published_only: bool, skip: int, limit: int) -> AnnouncementPage:
        async with self._uow(read_only=True) as uow:
            page = await uow.announcements.list(published_only=published_only, skip=skip, limit=limit)
            author_ids = sorted({a.created_by_id for a in page.items if a.created_by_id is not None})
            authors = await uow.announcements.authors(author_ids) if author_ids else {}
        return AnnouncementPage(page, authors)

    @staticmethod
    async def _existing(uow: UnitOfWork, announcement_id: int) -> Announcement:
        announcement = await uow.announcements.get(announcement_id)
        if announcement is None:
            raise NotFound(ANNOUNCEMENT_NOT_FOUND)
        return announcement

    @staticmethod
    async def _view(uow: UnitOfWork, announcement: Announcement) -> AnnouncementView:
        author_id = announcement.created_by_id
        authors = await uow.announcements.authors([author_id]) if author_id is not None else {}
        return AnnouncementView(announcement, authors.get(author_id) if author_id is not None else None)

    async def _audit(
        self,
        uow: UnitOfWork,
        admin: Principal,
        action: str,
        announcement: Announcement,
        ip: str | None,
        **details: Any,
    ) -> None:
        await audit(
            uow,
            self._clock,
            AuditEvent.ADMIN_ACTION,
            actor_id=admin.user_id,
            ip=ip,
            action=action,
            announcement_id=announcement.id,
            **details,
        )
