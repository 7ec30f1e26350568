"""Stored media served by the API (local storage): ``GET``/``HEAD /api/v1/media/{key}``.

Who may fetch what is the core's decision (``AuthorizeMedia``: public keys, or a valid signature,
whoever asks: the URL is the authority, so the route sends it as anonymous); this module speaks
HTTP: ``Range`` (206 and 416), ``ETag`` with ``If-None-Match`` (304) and ``If-Range``,
and cache headers fit for public (immutable: a new upload gets a new key) or private objects.
Unknown query parameters are ignored (clients add ``?t=<ms>`` cache-busters).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Controller, HttpMethod, Request, Response, route
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter, QueryParameter
from litestar.response import Stream

from sono.application.bus import MessageBus
from sono.application.media.messages import AuthorizeMedia, OpenMedia
from sono.application.media.ports import ObjectInfo, RangeNotSatisfiable
from sono.application.messages import ANONYMOUS, Actor
from sono.application.metrics import Metrics
from sono.entrypoints.http.openapi import errors
from sono.entrypoints.http.schemas import ErrorBody
from sono.entrypoints.http.security import AppContainer

RANGE_NOT_SATISFIABLE = "Requested range not satisfiable"
PUBLIC_CACHE = "public, max-age=31536000, immutable"
PRIVATE_CACHE = "private, max-age=3600"

_BYTE_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.ASCII)
BEYOND_ANY_OBJECT = 10**18
"""Byte positions are read up to this (no object is that large): a longer number means the same
as this one (a start past the end, an end or suffix covering the rest), and is never handed to
``int()`` whole (thousands of digits would make it raise)."""


def _position(digits: str) -> int:
    significant = digits.lstrip("0")
    return BEYOND_ANY_OBJECT if len(significant) > 18 else int(significant or "0")


def parse_range(header: str | None) -> tuple[int, int | None] | None:
    """A single ``bytes=a-b``, ``bytes=a-`` or ``bytes=-n`` range as the storage's ``(start, end)``
    (a negative start asks for the last bytes). None for no range, several ranges or a malformed
    one: those are ignored and the whole object is served, as HTTP allows (RFC 9110, 14.2). A
    position of any length is read as itself, or as ``BEYOND_ANY_OBJECT`` when larger: a first
    position past the end is unsatisfiable (416), a last one past it or a longer suffix is the
    rest of the object."""
    match = _BYTE_RANGE.fullmatch((header or "").strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first:
        suffix = _position(last) if last else 0
        return (-suffix, None) if suffix > 0 else None
    start, end = _position(first), _position(last) if last else None
    return None if end is not None and end < start else (start, end)


def etag_matches(header: str | None, etag: str) -> bool:
    """``If-None-Match``: ``*`` or a list of tags, compared weakly (``W/`` ignored)."""
    if not header:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


def range_applies(if_range: str | None, etag: str) -> bool:
    """``If-Range``: the range applies only while the entity tag still matches (strongly); a date
    there is not supported, so the whole object is sent."""
    return if_range is None or if_range.strip() == etag


def media_headers(info: ObjectInfo, public: bool) -> dict[str, str]:
    return {
        "Accept-Ranges": "bytes",
        "Cache-Control": PUBLIC_CACHE if public else PRIVATE_CACHE,
        "ETag": info.etag,
    }


class MediaController(Controller):
    path = "/api/v1/media"
    tags = ["Media"]

    @route(
        "/{key:path}",
        http_method=[HttpMethod.GET, HttpMethod.HEAD],
        summary="An object's bytes (HTTP Range and conditional requests supported)",
        responses={
            200: ResponseSpec(bytes, generate_examples=False, description="The object", media_type="*/*"),
            206: ResponseSpec(bytes, generate_examples=False, description="Part of the object", media_type="*/*"),
            304: ResponseSpec(None, description="Not modified (`If-None-Match`)"),
        }
        | errors(403, 404, 416),
    )
    async def media(
        self,
        request: Request[Any, Any, Any],
        key: FromPath[str],
        container: AppContainer,
        byte_range: Annotated[str | None, HeaderParameter(name="Range", required=False)] = None,
        if_none_match: Annotated[str | None, HeaderParameter(name="If-None-Match", required=False)] = None,
        if_range: Annotated[str | None, HeaderParameter(name="If-Range", required=False)] = None,
        expires: Annotated[str | None, QueryParameter(description="Expiry of a signed URL (unix time)")] = None,
        signature: Annotated[str | None, QueryParameter(description="Signature of a signed URL")] = None,
    ) -> Response[Any]:
        bus = container.bus
        access = await bus(AuthorizeMedia(key.lstrip("/"), expires, signature), ANONYMOUS)
        return await object_response(
            request,
            bus,
            ANONYMOUS,
            access.info,
            public=access.public,
            byte_range=byte_range,
            if_none_match=if_none_match,
            if_range=if_range,
        )


async def object_response(
    request: Request[Any, Any, Any],
    bus: MessageBus,
    actor: Actor,
    info: ObjectInfo,
    *,
    public: bool,
    byte_range: str | None = None,
    if_none_match: str | None = None,
    if_range: str | None = None,
    headers: dict[str, str] | None = None,
    kind: str = "stream",
) -> Response[Any]:
    """The answer to a ``GET`` or ``HEAD`` of a stored object a use case let ``actor`` have
    (``info``; the bytes are asked of the core with it, ``OpenMedia``): the whole
    object (200), a range (206, or 416 beyond its end), or 304 when ``If-None-Match`` matches;
    the bytes are streamed from storage (and counted as sent media of ``kind``: stream, download,
    cover_art). ``headers`` are added (e.g. ``Content-Disposition``)."""
    headers = media_headers(info, public) | (headers or {})
    if etag_matches(if_none_match, info.etag):
        return Response(None, status_code=304, headers=headers)
    requested = parse_range(byte_range) if info.size and range_applies(if_range, info.etag) else None
    if requested is not None:
        try:
            stored = await bus(OpenMedia(info, *requested), actor)
        except RangeNotSatisfiable:
            return Response(
                ErrorBody(RANGE_NOT_SATISFIABLE),
                status_code=416,
                headers={**headers, "Content-Range": f"bytes */{info.size}"},
            )
        headers["Content-Range"] = f"bytes {stored.start}-{stored.end}/{stored.total_size}"
    else:
        if request.method == HttpMethod.HEAD:
            return HeadResponse(info.size, info.content_type, headers)
        stored = await bus(OpenMedia(info), actor)
    headers["Content-Length"] = str(stored.end - stored.start + 1)
    status = 206 if requested is not None else 200
    if request.method == HttpMethod.HEAD:
        await stored.chunks.aclose()  # type: ignore[attr-defined]
        return HeadResponse(int(headers.pop("Content-Length")), info.content_type, headers, status)
    chunks = stored.chunks
    metrics = request.app.state.container.ports.metrics
    if metrics.enabled:
        chunks = counted(chunks, kind, metrics)
    return Stream(chunks, status_code=status, media_type=stored.content_type, headers=headers)


async def counted(chunks: AsyncIterator[bytes], kind: str, metrics: Metrics) -> AsyncIterator[bytes]:
    """``chunks`` as they are, their bytes reported as sent media of ``kind`` when they stop."""
    sent = 0
    try:
        async for chunk in chunks:
            sent += len(chunk)
            yield chunk
    finally:
        metrics.media_sent(kind, sent)
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()


class HeadResponse(Response[bytes]):
    """A ``HEAD`` answer: the headers of the ``GET`` (``Content-Length`` of the body it would
    send), no body."""

    def __init__(self, length: int, media_type: str, headers: dict[str, str], status_code: int = 200) -> None:
        headers = {**headers, "Content-Length": str(length)}  # not the empty body's length
        super().__init__(b"", status_code=status_code, media_type=media_type, headers=headers)
