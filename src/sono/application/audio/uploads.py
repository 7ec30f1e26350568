"""The upload of an audio file: decided by its content, quota-bound, stored crash-safely.

The inspector names the format (whatever the file name or the client claimed) and reads the stream
parameters and tags, off the event loop. The stored key is generated; the client's file name is
kept, cleaned, for display only.

An upload is a process (``UploadAudio``, and the library import's ``ImportAudio``) of steps sent
through the bus: ``StageAudio`` checks the quota and records the new objects as pending (its own
committed unit of work), the objects are stored outside any transaction, and ``FileAudio`` inserts
the row in one transaction with the quota check, the owner's row locked (PostgreSQL) or under
SQLite's writer lock, so concurrent uploads cannot pass the limit together. A failure after the
staging removes the objects and forgets their records (``ForgetPendingObjects``); a crash leaves
records that ``PurgeOrphanedObjects`` clears.
"""

from __future__ import annotations

import io
import logging
import uuid
from typing import BinaryIO, cast

from sono.application.audio.hashing import HashingReader
from sono.application.audio.messages import (
    AudioDetails,
    FileAudio,
    StageAudio,
    StagedAudio,
    UploadedFile,
)
from sono.application.audio.ports import AudioListCache, NoAudioListCache, OwnedAudio
from sono.application.bus import Context, ProcessContext, handles
from sono.application.common import audit
from sono.application.media.messages import ForgetPendingObjects
from sono.application.media.service import MediaService
from sono.application.ports import Clock
from sono.application.values import Problems
from sono.domain.audio import (
    DESCRIPTION_MAX,
    GENRE_MAX,
    TAG_MAX,
    AudioFile,
    bounded_problems,
    default_title,
    title_problems,
    track_number_problems,
    year_problems,
)
from sono.domain.errors import NotFound, PermissionDenied, UnsupportedMedia
from sono.domain.gdpr import AuditEvent
from sono.domain.media import AUDIO, ProcessedImage, clean_filename, object_key
from sono.domain.users import User

log = logging.getLogger(__name__)

USER_NOT_FOUND = "User not found"
NOT_ALLOWED = "Not enough permissions"


class AudioUploads:
    def __init__(
        self,
        media: MediaService,
        clock: Clock,
        lists: AudioListCache | None = None,
    ) -> None:
        self._media = media
        self._clock = clock
        self._lists = lists if lists is not None else NoAudioListCache()

    async def upload_for(
        self, ctx: ProcessContext, owner_id: int, file: UploadedFile, details: AudioDetails
    ) -> OwnedAudio:
        """The upload of a file for its owner: the caller's own (``UploadAudio``), or the owner the
        library import names (``ImportAudio``; the same checks and limits apply). The audit entry
        names the address of the request being served (``sono.application.context``)."""
        check_details(details)
        info = await self._media.inspect_audio(file.path)
        tags = await self._media.read_tags(file.path)
        cover = await self._cover(tags.picture)
        staged = await ctx.send(StageAudio(owner_id, info.format, cover.extension if cover else None))

        async def discard() -> None:
            await self._media.delete(staged.keys)
            await ctx.send(ForgetPendingObjects(staged.keys))

        ctx.on_failure(discard)
        original = clean_filename(file.filename, default=f"audio.{info.format}")
        now = self._clock.now()
        audio = AudioFile(
            owner_id=owner_id,
            title=details.title.strip() if details.title else default_title(tags.title, original),
            original_filename=original,
            storage_key=staged.audio_key,
            content_type=info.content_type,
            file_size=0,
            format=info.format,
            description=details.description,
            duration=info.duration,
            bitrate=info.bitrate,
            sample_rate=info.sample_rate,
            channels=info.channels,
            is_public=details.is_public,
            artist=details.artist or tags.artist,
            album=details.album or tags.album,
            track_number=details.track_number if details.track_number is not None else tags.track_number,
            year=details.year if details.year is not None else tags.year,
            genre=details.genre or tags.genre,
            cover_art_key=staged.cover_key,
            upload_date=now,
            updated_at=now,
        )
        hashing = None if file.sha256 else HashingReader(file.data)
        audio.file_size = await self._media.put_file(
            staged.audio_key, cast(BinaryIO, hashing or file.data), info.content_type
        )
        audio.content_hash = file.sha256 or (hashing.hexdigest() if hashing else None)
        if cover is not None and staged.cover_key is not None:
            await self._media.put_image(staged.cover_key, cover)
        return await ctx.send(FileAudio(audio))

    @handles(StageAudio)
    async def stage(self, command: StageAudio, ctx: Context) -> StagedAudio:
        owner = await _owner(ctx, command.owner_id)
        _check_quota(owner, await ctx.uow.audio_files.count_for_owner(command.owner_id))
        name = uuid.uuid4().hex
        audio_key = object_key(AUDIO, command.owner_id, name, command.audio_extension)
        cover = command.cover_extension
        cover_key = object_key(AUDIO, command.owner_id, name, cover) if cover else None
        staged = StagedAudio(audio_key, cover_key)
        await self._media.record_pending(ctx.uow, staged.keys)
        return staged

    @handles(FileAudio)
    async def file(self, command: FileAudio, ctx: Context) -> OwnedAudio:
        audio = command.audio
        owner = await _owner(ctx, audio.owner_id, lock=True)  # serialises this owner's uploads
        keys = [audio.storage_key, *([audio.cover_art_key] if audio.cover_art_key else [])]
        if not all(key.startswith(_prefix(audio.owner_id)) for key in keys):
            raise PermissionDenied(NOT_ALLOWED)  # only the owner's own (staged) objects
        _check_quota(owner, await ctx.uow.audio_files.count_for_owner(audio.owner_id))
        await ctx.uow.audio_files.add(audio)
        await ctx.uow.library.file(audio)  # the library read model, in the same transaction
        await self._media.settle(ctx.uow, keys)
        await audit(ctx.uow, self._clock, AuditEvent.AUDIO_UPLOADED, user_id=audio.owner_id, audio_file_id=audio.id)
        ctx.after_commit(self._lists.invalidate)
        return OwnedAudio(audio, owner)

    async def _cover(self, picture: bytes | None) -> ProcessedImage | None:
        """The embedded picture through the image pipeline; a picture that is not a usable image
        is left out (the audio is still accepted)."""
        if not picture:
            return None
        try:
            return await self._media.process_image(io.BytesIO(picture))
        except UnsupportedMedia:
            log.debug("embedded picture ignored: not a usable image")
            return None


async def _owner(ctx: Context, owner_id: int, *, lock: bool = False) -> User:
    """The owner an upload step names: the caller, or anyone for an admin (``NotFound`` when gone)."""
    if owner_id != ctx.actor.user_id and not ctx.actor.is_admin:
        raise PermissionDenied(NOT_ALLOWED)
    user = await ctx.uow.users.get(owner_id, for_update=lock)
    if user is None:
        raise NotFound(USER_NOT_FOUND)
    return user


def _prefix(owner_id: int) -> str:
    """What every key of an owner's audio objects starts with."""
    return object_key(AUDIO, owner_id, "", "").removesuffix(".")


def _check_quota(owner: User, uploads: int) -> None:
    problem = owner.upload_quota_problem(uploads)
    if problem:
        raise PermissionDenied(problem)


def check_details(details: AudioDetails) -> None:
    """Every rule an upload form breaks, as one 422."""
    problems = Problems()
    if details.title is not None and details.title.strip():
        problems.check("title", title_problems(details.title))
    problems.check("description", bounded_problems("Description", details.description, DESCRIPTION_MAX))
    problems.check("artist", bounded_problems("Artist", details.artist, TAG_MAX))
    problems.check("album", bounded_problems("Album", details.album, TAG_MAX))
    problems.check("genre", bounded_problems("Genre", details.genre, GENRE_MAX))
    problems.check("track_number", track_number_problems(details.track_number))
    problems.check("year", year_problems(details.year))
    problems.raise_if_any()
