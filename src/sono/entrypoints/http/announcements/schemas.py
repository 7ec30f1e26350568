"""Shapes of announcements, their presenters, and the conditional answer of the public reads."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response
from litestar.enums import MediaType
from litestar.params import PathParameter
from litestar.serialization import encode_json
from msgspec import UNSET, Meta, UnsetType

from sono.application.announcements.messages import AnnouncementPage, AnnouncementView
from sono.application.values import UNSET as APP_UNSET
from sono.domain.announcements import CONTENT_MAX, TITLE_MAX
from sono.entrypoints.http.accounts.schemas import PublicUserOut, public_user_out
from sono.entrypoints.http.schemas import EDGE_TEXT_MAX, ID_MAX, Input, documented, page_fields, text, utc

CONTENT_EDGE_MAX = 5 * CONTENT_MAX
PUBLIC_CACHE_CONTROL = "public, max-age=30"
"""Public reads are the same for every caller: shared caches may keep them briefly, and clients
revalidate with ``If-None-Match`` (a 304 without a body when nothing changed)."""

AnnouncementId = Annotated[int, PathParameter(ge=1, le=ID_MAX, description="An announcement's id")]
Title = Annotated[
    str,
    text(
        EDGE_TEXT_MAX,
        description=f"1 to {TITLE_MAX} characters",
        examples=["Important Update"],
        extra_json_schema=documented(min_length=1, max_length=TITLE_MAX),
    ),
]
Content = Annotated[
    str,
    text(
        CONTENT_EDGE_MAX,
        description=f"Markdown, 1 to {CONTENT_MAX} characters, stored as given (clients render it)",
        examples=["Announcement content here..."],
        extra_json_schema=documented(min_length=1, max_length=CONTENT_MAX),
    ),
]


# --------------------------------------------------------------------------- requests


class AnnouncementIn(Input):
    title: Title
    content: Content
    is_published: bool = False


class AnnouncementUpdateIn(Input):
    """A field left out stays as it is."""

    title: Title | UnsetType = UNSET
    content: Content | UnsetType = UNSET
    is_published: bool | UnsetType = UNSET

    def changes(self) -> dict[str, Any]:
        """The fields of ``UpdateAnnouncement`` that were sent."""
        return {
            name: APP_UNSET if value is UNSET else value
            for name, value in (("title", self.title), ("content", self.content), ("is_published", self.is_published))
        }


# --------------------------------------------------------------------------- responses


class AnnouncementOut(msgspec.Struct):
    id: int
    title: str
    content: Annotated[str, Meta(description="Markdown, as the author wrote it")]
    is_published: bool
    created_date: datetime | None
    updated_date: datetime | None
    published_date: Annotated[datetime | None, Meta(description="Set by the first publication, kept afterwards")]
    created_by_id: int | None
    created_by: PublicUserOut | None


class AnnouncementPageOut(msgspec.Struct):
    items: list[AnnouncementOut]
    total: int
    has_more: bool
    announcements: Annotated[list[AnnouncementOut], Meta(description="The same array as `items` (older clients)")]


# --------------------------------------------------------------------------- presenters


def _announcement_out(view: AnnouncementView, author: PublicUserOut | None) -> AnnouncementOut:
    announcement = view.announcement
    assert announcement.id is not None
    return AnnouncementOut(
        id=announcement.id,
        title=announcement.title,
        content=announcement.content,
        is_published=announcement.is_published,
        created_date=utc(announcement.created_date),
        updated_date=utc(announcement.updated_date),
        published_date=utc(announcement.published_date),
        created_by_id=announcement.created_by_id,
        created_by=author,
    )


def announcement_out(view: AnnouncementView) -> AnnouncementOut:
    return _announcement_out(view, public_user_out(view.author) if view.author is not None else None)


def announcement_page_out(result: AnnouncementPage) -> AnnouncementPageOut:
    authors = {user_id: public_user_out(author) for user_id, author in result.authors.items()}
    items = [
        _announcement_out(
            AnnouncementView(a, None), authors.get(a.created_by_id) if a.created_by_id is not None else None
        )
        for a in result.page.items
    ]
    fields = page_fields(items, result.page.total, result.page.skip)
    return AnnouncementPageOut(**fields, announcements=fields["items"])


# --------------------------------------------------------------------------- conditional GET


def entity_tag(body: bytes) -> str:
    """A strong validator of a response body: any change to what is shown changes it."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """``If-None-Match`` (a list of tags, or ``*``) against ``etag``, with the weak comparison the
    header calls for."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


def cacheable(request: Request[Any, Any, Any], shape: msgspec.Struct) -> Response[bytes]:
    """The JSON of ``shape`` with its ``ETag`` and ``Cache-Control``; a 304 without a body when the
    client already holds it."""
    body = encode_json(shape)
    etag = entity_tag(body)
    headers = {"ETag": etag, "Cache-Control": PUBLIC_CACHE_CONTROL}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(b"", status_code=304, headers=headers)
    return Response(body, media_type=MediaType.JSON, headers=headers)
