"""Stored media served by the API (local storage): ``GET /api/v1/media/{key}`` with HTTP Range
support. Avatars and covers are public; anything else needs the signature of its URL."""

from __future__ import annotations

import re
from typing import Annotated

from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter, QueryParameter
from litestar.response import Stream

from sono.adapters.storage import InvalidKey, RangeNotSatisfiable
from sono.adapters.storage.signing import verify_media_signature
from sono.domain.errors import NotFound
from sono.entrypoints.http.auth import AppContainer
from sono.entrypoints.http.openapi import errors
from sono.entrypoints.http.schemas import ErrorBody

PUBLIC_PREFIXES = ("avatars/", "covers/")
MEDIA_NOT_FOUND = "Media not found"
RANGE_NOT_SATISFIABLE = "Requested range not satisfiable"
PUBLIC_CACHE = "public, max-age=86400"
PRIVATE_CACHE = "private, max-age=3600"

_BYTE_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def parse_range(header: str | None) -> tuple[int, int | None] | None:
    """A single ``bytes=a-b``, ``bytes=a-`` or ``bytes=-n`` range as the storage's ``(start, end)``
    (a negative start asks for the last bytes). None for no range, several ranges or a malformed
    one: those are ignored and the whole object is served, as HTTP allows."""
    match = _BYTE_RANGE.fullmatch((header or "").strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first:
        return (-int(last), None) if last and int(last) > 0 else None
    start, end = int(first), int(last) if last else None
    return None if end is not None and end < start else (start, end)


def range_not_satisfiable(total_size: int) -> Response[ErrorBody]:
    return Response(
        ErrorBody(RANGE_NOT_SATISFIABLE), status_code=416, headers={"Content-Range": f"bytes */{total_size}"}
    )


class MediaController(Controller):
    path = "/api/v1/media"
    tags = ["Media"]

    @get(
        "/{key:path}",
        summary="An object's bytes (HTTP Range supported)",
        responses={
            200: ResponseSpec(bytes, generate_examples=False, description="The object", media_type="*/*"),
            206: ResponseSpec(bytes, generate_examples=False, description="Part of the object", media_type="*/*"),
        }
        | errors(404, 416),
    )
    async def media(
        self,
        key: FromPath[str],
        container: AppContainer,
        byte_range: Annotated[str | None, HeaderParameter(name="Range", required=False)] = None,
        expires: Annotated[str | None, QueryParameter(description="Expiry of a signed URL (unix time)")] = None,
        signature: Annotated[str | None, QueryParameter(description="Signature of a signed URL")] = None,
    ) -> Response[ErrorBody] | Stream:
        object_key = key.lstrip("/")
        public = object_key.startswith(PUBLIC_PREFIXES)
        if not public and not verify_media_signature(
            object_key, expires, signature, signing_key=container.media_signing_key
        ):
            raise NotFound(MEDIA_NOT_FOUND)
        requested = parse_range(byte_range)
        try:
            stored = await container.storage.open(object_key, *(requested or ()))
        except InvalidKey:
            raise NotFound(MEDIA_NOT_FOUND) from None
        except RangeNotSatisfiable as exc:
            return range_not_satisfiable(exc.total_size)
        except NotFound:
            raise NotFound(MEDIA_NOT_FOUND) from None
        if stored.total_size == 0:
            requested = None  # an empty object has no ranges: serve it whole
        headers = {
            "Accept-Ranges": "bytes",
            "Cache-Control": PUBLIC_CACHE if public else PRIVATE_CACHE,
            "Content-Length": str(stored.end - stored.start + 1),
        }
        if requested:
            headers["Content-Range"] = f"bytes {stored.start}-{stored.end}/{stored.total_size}"
        return Stream(
            stored.chunks, status_code=206 if requested else 200, media_type=stored.content_type, headers=headers
        )
