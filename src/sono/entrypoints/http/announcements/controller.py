"""Announcements: the published ones for everyone (``/api/v1/announcements``, cacheable and
answering conditional GETs), and every one for admins (``/api/v1/admin/announcements``)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, QueryParameter

from sono.application.announcements.messages import (
    CreateAnnouncement,
    DeleteAnnouncement,
    GetAnnouncement,
    GetPublished,
    ListAnnouncements,
    ListPublished,
    UpdateAnnouncement,
)
from sono.entrypoints.http.announcements.schemas import (
    AnnouncementId,
    AnnouncementIn,
    AnnouncementOut,
    AnnouncementPageOut,
    AnnouncementUpdateIn,
    announcement_out,
    announcement_page_out,
    cacheable,
)
from sono.entrypoints.http.openapi import BEARER, errors
from sono.entrypoints.http.routes import delete, get, post, put
from sono.entrypoints.http.schemas import Limit, MessageOut, Skip
from sono.entrypoints.http.security import Acting, Bus, admin_only

ANNOUNCEMENT_DELETED = "Announcement deleted successfully"
PUBLIC_LIMIT_DEFAULT = 20
_CACHE_HEADERS = [
    ResponseHeader(name="ETag", description="Changes whenever the answer changes", documentation_only=True),
    ResponseHeader(name="Cache-Control", description="`public, max-age=30`", documentation_only=True),
]


def _cacheable_responses(shape: type) -> dict[int, ResponseSpec]:
    return {
        200: ResponseSpec(shape, generate_examples=False, description="Request fulfilled"),
        304: ResponseSpec(None, generate_examples=False, description="Not modified (`If-None-Match` matched)"),
    }


class AnnouncementsController(Controller):
    """Public reads. The ``actor`` is resolved only so that a token of an ended session answers
    401, as everywhere; the answer itself is the same for every caller."""

    path = "/api/v1/announcements"
    tags = ["Announcements"]

    @get(
        "/",
        summary="Published announcements, newest first",
        response_headers=_CACHE_HEADERS,
        responses=_cacheable_responses(AnnouncementPageOut) | errors(401, 422),
    )
    async def list_published(
        self,
        request: Request[Any, Any, Any],
        bus: Bus,
        actor: Acting,
        skip: Skip = 0,
        limit: Annotated[
            int, QueryParameter(ge=1, le=100, description="Items per page (1..100)")
        ] = PUBLIC_LIMIT_DEFAULT,
    ) -> Response[bytes]:
        page = await bus(ListPublished(skip, limit), actor)
        return cacheable(request, announcement_page_out(page))

    @get(
        "/{announcement_id:int}",
        summary="A published announcement",
        response_headers=_CACHE_HEADERS,
        responses=_cacheable_responses(AnnouncementOut) | errors(401, 404, 422),
    )
    async def get_published(
        self,
        request: Request[Any, Any, Any],
        bus: Bus,
        actor: Acting,
        announcement_id: AnnouncementId,
    ) -> Response[bytes]:
        view = await bus(GetPublished(announcement_id), actor)
        return cacheable(request, announcement_out(view))


class AdminAnnouncementsController(Controller):
    path = "/api/v1/admin/announcements"
    tags = ["Announcements"]
    guards = [admin_only]
    security = BEARER

    @post("/", summary="Write an announcement", status_code=201, responses=errors(401, 403, 422))
    async def create(self, data: JSONBody[AnnouncementIn], bus: Bus, actor: Acting) -> AnnouncementOut:
        view = await bus(CreateAnnouncement(data.title, data.content, data.is_published), actor)
        return announcement_out(view)

    @get("/", summary="Every announcement, drafts too, newest first", responses=errors(401, 403, 422))
    async def list_all(
        self,
        bus: Bus,
        actor: Acting,
        published_only: Annotated[bool, QueryParameter(description="Only the published ones")] = False,
        skip: Skip = 0,
        limit: Limit = 100,
    ) -> AnnouncementPageOut:
        page = await bus(ListAnnouncements(published_only, skip, limit), actor)
        return announcement_page_out(page)

    @get("/{announcement_id:int}", summary="An announcement", responses=errors(401, 403, 404, 422))
    async def get_one(self, bus: Bus, actor: Acting, announcement_id: AnnouncementId) -> AnnouncementOut:
        return announcement_out(await bus(GetAnnouncement(announcement_id), actor))

    @put(
        "/{announcement_id:int}",
        summary="Change an announcement (fields left out stay; publishing the first time dates it)",
        responses=errors(401, 403, 404, 422),
    )
    async def update(
        self,
        data: JSONBody[AnnouncementUpdateIn],
        bus: Bus,
        actor: Acting,
        announcement_id: AnnouncementId,
    ) -> AnnouncementOut:
        view = await bus(UpdateAnnouncement(announcement_id, **data.changes()), actor)
        return announcement_out(view)

    @delete(
        "/{announcement_id:int}",
        summary="Delete an announcement",
        status_code=200,
        responses=errors(401, 403, 404, 422),
    )
    async def remove(self, bus: Bus, actor: Acting, announcement_id: AnnouncementId) -> MessageOut:
        await bus(DeleteAnnouncement(announcement_id), actor)
        return MessageOut(ANNOUNCEMENT_DELETED)
