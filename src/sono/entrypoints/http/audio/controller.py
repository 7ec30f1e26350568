"""Audio files: ``/api/v1/audio`` (uploads, lists, one file, downloads and cover art) and the
admins' audio routes under ``/api/v1/admin``.

Who may see or change a file is the ``AudioService``'s decision; this module reads the HTTP request
(the upload form streams to disk through ``receive_upload``, 413 while it arrives) and writes the
answers: the audio shape, the list envelope with the legacy ``files`` key, streamed downloads with
an RFC 6266 ``Content-Disposition`` (and ``Range``), the admins' plain array with ``X-Total-Count``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, JSONBody

from sono.application.audio.ports import OwnedAudio
from sono.application.audio.service import UploadedFile
from sono.application.common import Page, viewer_of
from sono.bootstrap import Container
from sono.domain.media import AUDIO_MAX_BYTES, AUDIO_TOO_LARGE, clean_filename
from sono.entrypoints.http.audio.schemas import (
    UPLOAD_FIELDS,
    AudioOut,
    AudioPage,
    AudioUpdateIn,
    DeletedFilesOut,
    UploadsResetOut,
    UploadStatsOut,
    annotated,
    annotator,
    audio_out,
    audio_outs,
    audio_page,
    for_caller,
    upload_details,
    upload_stats_out,
)
from sono.entrypoints.http.media.controller import object_response
from sono.entrypoints.http.openapi import BEARER, errors, file_upload_operation
from sono.entrypoints.http.schemas import Id, Limit, MessageOut, Skip
from sono.entrypoints.http.security import Acting, AppContainer, Caller, ClientIp, OptionalCaller, admin_only, signed_in
from sono.entrypoints.http.uploads import receive_upload

AUDIO_DELETED = "Audio file deleted successfully"
TOTAL_COUNT = "X-Total-Count"

RangeHeader = Annotated[str | None, HeaderParameter(name="Range", required=False)]
IfNoneMatch = Annotated[str | None, HeaderParameter(name="If-None-Match", required=False)]
IfRange = Annotated[str | None, HeaderParameter(name="If-Range", required=False)]

_FALLBACK_UNSAFE = re.compile(r'[^\x20-\x7e]|["\\%;]')
_ATTR_CHARS = "!#$&+-.^_`|~"  # RFC 5987 attr-char, besides letters and digits


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII ``filename`` fallback and the name as an RFC 5987 ``filename*``
    (RFC 6266), made safe again (a name stored before the bidirectional controls were dropped)."""
    filename = clean_filename(filename, "download")
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    fallback = _FALLBACK_UNSAFE.sub("_", ascii_name).strip() or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe=_ATTR_CHARS)}"


def _stream_responses(description: str) -> dict[int, ResponseSpec]:
    return {
        200: ResponseSpec(bytes, generate_examples=False, description=description, media_type="*/*"),
        206: ResponseSpec(bytes, generate_examples=False, description="Part of it (`Range`)", media_type="*/*"),
        304: ResponseSpec(None, description="Not modified (`If-None-Match`)"),
    }


class AudioController(Controller):
    path = "/api/v1/audio"
    tags = ["Audio"]

    @post(
        "/upload",
        summary="Upload an audio file",
        status_code=201,
        guards=[signed_in],
        security=BEARER,
        request_max_body_size=None,  # the upload enforces its own limit while streaming
        operation_class=file_upload_operation(
            "MP3, WAV, OGG, M4A, AAC, FLAC or WEBM (decided from the content), at most 50 MB", UPLOAD_FIELDS
        ),
        responses=errors(401, 403, 413, 415, 422),
    )
    async def upload(
        self, request: Request[Any, Any, Any], principal: Caller, container: AppContainer, ip: ClientIp
    ) -> AudioOut:
        await container.audio.check_quota(principal)  # before the body is read
        async with receive_upload(
            request, max_bytes=AUDIO_MAX_BYTES, too_large=AUDIO_TOO_LARGE, spool_dir=container.settings.upload_dir
        ) as upload:
            details = upload_details(upload.fields)
            uploaded = UploadedFile(upload.path, upload.file, upload.filename, sha256=upload.sha256)
            stored = await container.audio.upload(principal, uploaded, details, ip=ip)
        return annotated([await audio_out(container.media, stored.audio, stored.owner)], {})[0]  # new: unannotated

    @get(
        "/stats",
        summary="The caller's upload quota and usage",
        guards=[signed_in],
        security=BEARER,
        responses=errors(401),
    )
    async def stats(self, principal: Caller, container: AppContainer) -> UploadStatsOut:
        return upload_stats_out(await container.audio.stats(principal))

    @get(
        "/my-files",
        summary="The caller's audio files, newest first",
        guards=[signed_in],
        security=BEARER,
        responses=errors(401, 422),
    )
    async def my_files(
        self, principal: Caller, container: AppContainer, skip: Skip = 0, limit: Limit = 100
    ) -> AudioPage:
        page = await container.audio.my_files(principal, skip=skip, limit=limit)
        owners = {principal.user_id: principal.user}
        items = await audio_outs(container.media, page.items, owners)
        return audio_page(await for_caller(annotator(container.bus, principal.actor), items), page.total, page.skip)

    @get("/public", summary="Public audio files, newest first (no sign-in needed)", responses=errors(401, 422))
    async def public_files(
        self, container: AppContainer, actor: Acting, skip: Skip = 0, limit: Limit = 100
    ) -> AudioPage:
        page = await container.audio.public_files(skip=skip, limit=limit)
        presented = await _presented(container, page)  # shared by every caller: never changed
        annotate = annotator(container.bus, actor)
        if annotate is None or not presented.items:
            return presented
        return audio_page(await for_caller(annotate, presented.items), presented.total, page.skip)

    @get(
        "/{audio_id:int}",
        summary="One audio file (public ones for anyone; private ones for the owner and admins)",
        responses=errors(401, 404),
    )
    async def get_file(self, audio_id: Id, viewer: OptionalCaller, container: AppContainer) -> AudioOut:
        found = await container.audio.get(viewer_of(viewer), audio_id)
        out = await audio_out(container.media, found.audio, found.owner)
        if viewer is None:
            return out
        return (await for_caller(annotator(container.bus, viewer.actor), [out]))[0]

    @put(
        "/{audio_id:int}",
        summary="Change an audio file's details (owner or admin)",
        guards=[signed_in],
        security=BEARER,
        responses=errors(401, 403, 404, 422),
    )
    async def update_file(
        self,
        audio_id: Id,
        data: JSONBody[AudioUpdateIn],
        principal: Caller,
        container: AppContainer,
        ip: ClientIp,
    ) -> AudioOut:
        updated = await container.audio.update(principal, audio_id, ip=ip, **data.changes())
        out = await audio_out(container.media, updated.audio, updated.owner)
        return (await for_caller(annotator(container.bus, principal.actor), [out]))[0]

    @delete(
        "/{audio_id:int}",
        summary="Delete an audio file (owner or admin)",
        status_code=200,
        guards=[signed_in],
        security=BEARER,
        responses=errors(401, 403, 404),
    )
    async def delete_file(self, audio_id: Id, principal: Caller, container: AppContainer, ip: ClientIp) -> MessageOut:
        await container.audio.delete(principal, audio_id, ip=ip)
        return MessageOut(AUDIO_DELETED)

    @get(
        "/{audio_id:int}/download",
        summary="The audio file as an attachment, streamed (HTTP Range supported)",
        responses=_stream_responses("The file, `Content-Disposition: attachment`") | errors(401, 404, 416),
    )
    async def download(
        self,
        request: Request[Any, Any, Any],
        audio_id: Id,
        viewer: OptionalCaller,
        container: AppContainer,
        byte_range: RangeHeader = None,
        if_none_match: IfNoneMatch = None,
        if_range: IfRange = None,
    ) -> Response[Any]:
        stored = await container.audio.download(viewer_of(viewer), audio_id)
        return await object_response(
            request,
            container.media,
            stored.info,
            public=False,
            byte_range=byte_range,
            if_none_match=if_none_match,
            if_range=if_range,
            headers={"Content-Disposition": content_disposition(stored.audio.original_filename)},
            kind="download",
        )

    @get(
        "/{audio_id:int}/cover-art",
        summary="The audio file's cover art (from its tags)",
        responses=_stream_responses("The picture (WebP)") | errors(401, 404, 416),
    )
    async def cover_art(
        self,
        request: Request[Any, Any, Any],
        audio_id: Id,
        viewer: OptionalCaller,
        container: AppContainer,
        byte_range: RangeHeader = None,
        if_none_match: IfNoneMatch = None,
        if_range: IfRange = None,
    ) -> Response[Any]:
        stored = await container.audio.cover_art(viewer_of(viewer), audio_id)
        return await object_response(
            request,
            container.media,
            stored.info,
            public=False,
            byte_range=byte_range,
            if_none_match=if_none_match,
            if_range=if_range,
            kind="cover_art",
        )


_PRESENTED: dict[int, tuple[Page[OwnedAudio], int, AudioPage]] = {}
_PRESENTED_KEPT = 64


async def _presented(container: Container, page: Page[OwnedAudio]) -> AudioPage:
    """The public page's answer. The catalog hands out the same page object while the list is
    unchanged, and URLs signed now stay the same until the expiry moves: the answer made for that
    page and expiry is reused (kept by the page's identity, checked against the page itself)."""
    expiry = container.media.expiry()
    kept = _PRESENTED.get(id(page))
    if kept is not None and kept[0] is page and kept[1] == expiry:
        return kept[2]
    owners = {entry.owner.id: entry.owner for entry in page.items if entry.owner.id is not None}
    items = await audio_outs(container.media, [entry.audio for entry in page.items], owners)
    presented = audio_page(items, page.total, page.skip)
    if len(_PRESENTED) >= _PRESENTED_KEPT:
        _PRESENTED.clear()
    _PRESENTED[id(page)] = (page, expiry, presented)
    return presented


class AudioAdminController(Controller):
    """The admins' audio routes (the rest of ``/api/v1/admin`` is the admin feature's)."""

    path = "/api/v1/admin"
    tags = ["Admin"]
    guards = [admin_only]
    security = BEARER

    @get(
        "/audio-files/all",
        summary="Every audio file, newest first: a plain array, the total in `X-Total-Count`",
        response_headers=[ResponseHeader(name=TOTAL_COUNT, description="The number of files", documentation_only=True)],
        responses=errors(401, 403, 422),
    )
    async def all_files(
        self, principal: Caller, container: AppContainer, ip: ClientIp, skip: Skip = 0, limit: Limit = 100
    ) -> Response[list[AudioOut]]:
        page = await container.audio.all_files(principal, skip=skip, limit=limit, ip=ip)
        owners = {entry.owner.id: entry.owner for entry in page.items if entry.owner.id is not None}
        items = await audio_outs(container.media, [entry.audio for entry in page.items], owners)
        items = await for_caller(annotator(container.bus, principal.actor), items)
        return Response(items, headers={TOTAL_COUNT: str(page.total)})

    @delete(
        "/users/{user_id:int}/audio-files",
        summary="Delete every audio file of a user",
        status_code=200,
        responses=errors(401, 403, 404),
    )
    async def delete_user_files(
        self, user_id: Id, principal: Caller, container: AppContainer, ip: ClientIp
    ) -> DeletedFilesOut:
        deleted, user = await container.audio.delete_all_of(principal, user_id, ip=ip)
        return DeletedFilesOut(message=f"Deleted {deleted} audio files of user {user.username}", deleted_count=deleted)

    @post(
        "/users/{user_id:int}/reset-uploads",
        summary="Delete every audio file of a user and restore the default upload limit",
        status_code=200,
        responses=errors(401, 403, 404),
    )
    async def reset_uploads(
        self, user_id: Id, principal: Caller, container: AppContainer, ip: ClientIp
    ) -> UploadsResetOut:
        deleted, user = await container.audio.delete_all_of(principal, user_id, reset_quota=True, ip=ip)
        return UploadsResetOut(
            message=f"Upload quota reset for user {user.username}: deleted {deleted} audio files",
            deleted_count=deleted,
            max_audio_uploads=user.max_audio_uploads,
        )
