"""Announcements: admins write and publish them, everyone reads the published ones."""

from __future__ import annotations

from typing import Any

from sono.application.accounts.views import user_view
from sono.application.announcements.messages import (
    ANNOUNCEMENT_NOT_FOUND,
    AnnouncementPage,
    AnnouncementView,
    CreateAnnouncement,
    DeleteAnnouncement,
    GetAnnouncement,
    GetPublished,
    ListAnnouncements,
    ListPublished,
    UpdateAnnouncement,
)
from sono.application.bus import Context, handles
from sono.application.common import audit
from sono.application.media.service import MediaService
from sono.application.ports import Clock
from sono.application.uow import UnitOfWork
from sono.application.values import UNSET, Problems
from sono.domain.announcements import Announcement, content_problems, title_problems
from sono.domain.errors import NotFound
from sono.domain.gdpr import AuditEvent


class AnnouncementHandlers:
    def __init__(self, clock: Clock, media: MediaService) -> None:
        self._clock = clock
        self._media = media  # the URLs of the authors' pictures

    async def _page(self, uow: UnitOfWork, *, published_only: bool, skip: int, limit: int) -> AnnouncementPage:
        page = await uow.announcements.list(published_only=published_only, skip=skip, limit=limit)
        author_ids = sorted({a.created_by_id for a in page.items if a.created_by_id is not None})
        authors = await uow.announcements.authors(author_ids) if author_ids else {}
        views = {user_id: await user_view(self._media, user) for user_id, user in authors.items()}
        return AnnouncementPage(page, views)

    async def _view(self, uow: UnitOfWork, announcement: Announcement) -> AnnouncementView:
        author_id = announcement.created_by_id
        authors = await uow.announcements.authors([author_id]) if author_id is not None else {}
        author = authors.get(author_id) if author_id is not None else None
        return AnnouncementView(announcement, await user_view(self._media, author) if author is not None else None)

    # ------------------------------------------------------------------ everyone

    @handles(ListPublished)
    async def published(self, query: ListPublished, ctx: Context) -> AnnouncementPage:
        return await self._page(ctx.uow, published_only=True, skip=query.skip, limit=query.limit)

    @handles(GetPublished)
    async def published_one(self, query: GetPublished, ctx: Context) -> AnnouncementView:
        announcement = await ctx.uow.announcements.get(query.announcement_id)
        if announcement is None or not announcement.is_published:
            raise NotFound(ANNOUNCEMENT_NOT_FOUND)
        return await self._view(ctx.uow, announcement)

    # ------------------------------------------------------------------ admins

    @handles(ListAnnouncements)
    async def list(self, query: ListAnnouncements, ctx: Context) -> AnnouncementPage:
        return await self._page(ctx.uow, published_only=query.published_only, skip=query.skip, limit=query.limit)

    @handles(GetAnnouncement)
    async def get(self, query: GetAnnouncement, ctx: Context) -> AnnouncementView:
        return await self._view(ctx.uow, await _existing(ctx.uow, query.announcement_id))

    @handles(CreateAnnouncement)
    async def create(self, command: CreateAnnouncement, ctx: Context) -> AnnouncementView:
        problems = Problems()
        problems.check("title", title_problems(command.title))
        problems.check("content", content_problems(command.content))
        problems.raise_if_any()
        now = self._clock.now()
        announcement = Announcement(
            title=command.title,
            content=command.content,
            created_by_id=ctx.actor.user_id,
            created_date=now,
            updated_date=now,
        )
        announcement.set_published(command.is_published, now)
        await ctx.uow.announcements.add(announcement)
        await self._audit(ctx, "announcement.create", announcement, is_published=command.is_published)
        return await self._view(ctx.uow, announcement)

    @handles(UpdateAnnouncement)
    async def update(self, command: UpdateAnnouncement, ctx: Context) -> AnnouncementView:
        problems = Problems()
        if command.title is not UNSET:
            problems.check("title", title_problems(command.title))
        if command.content is not UNSET:
            problems.check("content", content_problems(command.content))
        problems.raise_if_any()
        announcement = await _existing(ctx.uow, command.announcement_id)
        now = self._clock.now()
        changed = []
        if command.title is not UNSET and command.title != announcement.title:
            announcement.title = command.title
            changed.append("title")
        if command.content is not UNSET and command.content != announcement.content:
            announcement.content = command.content
            changed.append("content")
        if command.is_published is not UNSET and command.is_published != announcement.is_published:
            announcement.set_published(command.is_published, now)
            changed.append("is_published")
        if changed:
            announcement.updated_date = now
            await self._audit(ctx, "announcement.update", announcement, changed=changed)
        return await self._view(ctx.uow, announcement)

    @handles(DeleteAnnouncement)
    async def delete(self, command: DeleteAnnouncement, ctx: Context) -> None:
        announcement = await _existing(ctx.uow, command.announcement_id)
        await self._audit(ctx, "announcement.delete", announcement)
        await ctx.uow.announcements.delete(announcement)

    async def _audit(self, ctx: Context, action: str, announcement: Announcement, **details: Any) -> None:
        await audit(
            ctx.uow,
            self._clock,
            AuditEvent.ADMIN_ACTION,
            actor_id=ctx.actor.user_id,
            action=action,
            announcement_id=announcement.id,
            **details,
        )


async def _existing(uow: UnitOfWork, announcement_id: int) -> Announcement:
    announcement = await uow.announcements.get(announcement_id)
    if announcement is None:
        raise NotFound(ANNOUNCEMENT_NOT_FOUND)
    return announcement
