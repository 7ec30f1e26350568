"""Audio files: ``/api/v1/audio`` (uploads, lists, one file, downloads and cover art) and the
admins' audio routes under ``/api/v1/admin``.

Who may see or change a file is the core's decision (the messages of
``sono.application.audio.messages``, sent through the bus); this module reads the HTTP request
(the upload form streams to disk through ``receive_upload``, 413 while it arrives) and writes the
answers: the audio shape, the list envelope with the legacy ``files`` key, streamed downloads with
an RFC 6266 ``Content-Disposition`` (and ``Range``), the admins' plain array with ``X-Total-Count``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, Response
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, JSONBody

from sono.application.audio.messages import (
    CheckUploadQuota,
    DeleteAllAudioOf,
    DeleteAudio,
    DownloadAudio,
    GetAudio,
    GetCoverArt,
    GetUploadStats,
    ListAllAudio,
    ListMyAudio,
    ListPublicAudio,
    StoredMedia,
    UpdateAudio,
    UploadAudio,
    UploadedFile,
)
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
    audio_list_page,
    audio_page,
    audio_view_out,
    audio_view_outs,
    for_caller,
    upload_details,
    upload_stats_out,
)
from sono.entrypoints.http.media.controller import object_response
from sono.entrypoints.http.openapi import BEARER, errors, file_upload_operation
from sono.entrypoints.http.routes import delete, get, post, put
from sono.entrypoints.http.schemas import Id, Limit, MessageOut, Skip, rendered
from sono.entrypoints.http.security import Acting, AppContainer, Bus, admin_only, signed_in
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
        self, request: Request[Any, Any, Any], container: AppContainer, bus: Bus, actor: Acting
    ) -> AudioOut:
        await bus(CheckUploadQuota(), actor)  # before the body is read
        async with receive_upload(
            request, max_bytes=AUDIO_MAX_BYTES, too_large=AUDIO_TOO_LARGE, spool_dir=container.settings.upload_dir
        ) as upload:
            details = upload_details(upload.fields)
            uploaded = UploadedFile(upload.path, upload.file, upload.filename, sha256=upload.sha256)
            stored = await bus(UploadAudio(uploaded, details), actor)
        return annotated([audio_view_out(stored)], {})[0]  # new: unannotated

    @get(
        "/stats",
        summary="The caller's upload quota and usage",
        guards=[signed_in],
        security=BEARER,
        responses=errors(401),
    )
    async def stats(self, bus: Bus, actor: Acting) -> UploadStatsOut:
        return upload_stats_out(await bus(GetUploadStats(), actor))

    @get(
        "/my-files",
        summary="The caller's audio files, newest first",
        guards=[signed_in],
        security=BEARER,
        responses=errors(401, 422),
    )
    async def my_files(self, bus: Bus, actor: Acting, skip: Skip = 0, limit: Limit = 100) -> AudioPage:
        found = await bus(ListMyAudio(skip, limit), actor)
        items = await for_caller(annotator(bus, actor), audio_view_outs(found.items))
        return audio_page(items, found.total, found.skip)

    @get("/public", summary="Public audio files, newest first (no sign-in needed)", responses=errors(401, 422))
    async def public_files(
        self, bus: Bus, actor: Acting, container: AppContainer, skip: Skip = 0, limit: Limit = 100
    ) -> AudioPage:
        found = await bus(ListPublicAudio(skip, limit), actor)  # the same answer while the list is unchanged
        page = rendered(container.ports.renditions, ("audio.public", skip, limit), found, audio_list_page)
        annotate = annotator(bus, actor)
        if annotate is None or not found.items:
            return page
        return audio_page(await for_caller(annotate, page.items), found.total, found.skip)

    @get(
        "/{audio_id:int}",
        summary="One audio file (public ones for anyone; private ones for the owner and admins)",
        responses=errors(401, 404),
    )
    async def get_file(self, audio_id: Id, bus: Bus, actor: Acting) -> AudioOut:
        out = audio_view_out(await bus(GetAudio(audio_id), actor))
        return (await for_caller(annotator(bus, actor), [out]))[0]

    @put(
        "/{audio_id:int}",
        summary="Change an audio file's details (owner or admin)",
        guards=[signed_in],
        security=BEARER,
        responses=errors(401, 403, 404, 422),
    )
    async def update_file(self, audio_id: Id, data: JSONBody[AudioUpdateIn], bus: Bus, actor: Acting) -> AudioOut:
        out = audio_view_out(await bus(UpdateAudio(audio_id, **data.changes()), actor))
        return (await for_caller(annotator(bus, actor), [out]))[0]

    @delete(
        "/{audio_id:int}",
        summary="Delete an audio file (owner or admin)",
        status_code=200,
        guards=[signed_in],
        security=BEARER,
        responses=errors(401, 403, 404),
    )
    async def delete_file(self, audio_id: Id, bus: Bus, actor: Acting) -> MessageOut:
        await bus(DeleteAudio(audio_id), actor)
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
        bus: Bus,
        actor: Acting,
        byte_range: RangeHeader = None,
        if_none_match: IfNoneMatch = None,
        if_range: IfRange = None,
    ) -> Response[Any]:
        stored: StoredMedia = await bus(DownloadAudio(audio_id), actor)
        return await object_response(
            request,
            bus,
            actor,
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
        bus: Bus,
        actor: Acting,
        byte_range: RangeHeader = None,
        if_none_match: IfNoneMatch = None,
        if_range: IfRange = None,
    ) -> Response[Any]:
        stored = await bus(GetCoverArt(audio_id), actor)
        return await object_response(
            request,
            bus,
            actor,
            stored.info,
            public=False,
            byte_range=byte_range,
            if_none_match=if_none_match,
            if_range=if_range,
            kind="cover_art",
        )


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
    async def all_files(self, bus: Bus, actor: Acting, skip: Skip = 0, limit: Limit = 100) -> Response[list[AudioOut]]:
        found = await bus(ListAllAudio(skip, limit), actor)
        items = await for_caller(annotator(bus, actor), audio_view_outs(found.items))
        return Response(items, headers={TOTAL_COUNT: str(found.total)})

    @delete(
        "/users/{user_id:int}/audio-files",
        summary="Delete every audio file of a user",
        status_code=200,
        responses=errors(401, 403, 404),
    )
    async def delete_user_files(self, user_id: Id, bus: Bus, actor: Acting) -> DeletedFilesOut:
        done = await bus(DeleteAllAudioOf(user_id), actor)
        return DeletedFilesOut(
            message=f"Deleted {done.deleted} audio files of user {done.user.username}", deleted_count=done.deleted
        )

    @post(
        "/users/{user_id:int}/reset-uploads",
        summary="Delete every audio file of a user and restore the default upload limit",
        status_code=200,
        responses=errors(401, 403, 404),
    )
    async def reset_uploads(self, user_id: Id, bus: Bus, actor: Acting) -> UploadsResetOut:
        done = await bus(DeleteAllAudioOf(user_id, reset_quota=True), actor)
        return UploadsResetOut(
            message=f"Upload quota reset for user {done.user.username}: deleted {done.deleted} audio files",
            deleted_count=done.deleted,
            max_audio_uploads=done.user.max_audio_uploads,
        )
