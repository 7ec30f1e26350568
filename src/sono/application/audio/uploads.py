"""The upload of an audio file: decided by its content, quota-bound, stored crash-safely.

The inspector names the format (whatever the file name or the client claimed) and reads the stream
parameters and tags, off the event loop. The stored key is generated; the client's file name is
kept, cleaned, for display only. Its objects are staged before they are written and the row is
inserted in one transaction with the quota check, under a lock on the owner's row (PostgreSQL) or
SQLite's writer lock, so concurrent uploads cannot pass the limit together; any failure removes
the objects again (see ``MediaService.stage``).

The units of work here are the upload's own and short (staging; the insert), never open while the
bytes are stored: ``UploadAudio`` and ``ImportAudio`` are queries on purpose for that.
"""

from __future__ import annotations

import io
import logging
import uuid
from typing import BinaryIO, cast

from sono.application.audio.hashing import HashingReader
from sono.application.audio.messages import AudioDetails, UploadedFile
from sono.application.audio.ports import AudioListCache, NoAudioListCache, OwnedAudio
from sono.application.common import Problems, audit
from sono.application.media.service import MediaService
from sono.application.ports import Clock
from sono.application.uow import UnitOfWorkFactory
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

log = logging.getLogger(__name__)

USER_NOT_FOUND = "User not found"


class AudioUploads:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        media: MediaService,
        clock: Clock,
        lists: AudioListCache | None = None,
    ) -> None:
        self._uow = uow
        self._media = media
        self._clock = clock
        self._lists = lists if lists is not None else NoAudioListCache()

    async def upload_for(self, owner_id: int, file: UploadedFile, details: AudioDetails) -> OwnedAudio:
        """The upload of a file for its owner: the caller's own (``UploadAudio``), or the owner the
        library import names (``ImportAudio``; the same checks and limits apply). The audit entry
        names the address of the request being served (``sono.application.context``)."""
        check_details(details)
        info = await self._media.inspect_audio(file.path)
        tags = await self._media.read_tags(file.path)
        cover = await self._cover(tags.picture)
        name = uuid.uuid4().hex
        audio_key = object_key(AUDIO, owner_id, name, info.format)
        cover_key = object_key(AUDIO, owner_id, name, cover.extension) if cover else None
        keys = [audio_key, *([cover_key] if cover_key else [])]
        original = clean_filename(file.filename, default=f"audio.{info.format}")
        now = self._clock.now()
        audio = AudioFile(
            owner_id=owner_id,
            title=details.title.strip() if details.title else default_title(tags.title, original),
            original_filename=original,
            storage_key=audio_key,
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
            cover_art_key=cover_key,
            upload_date=now,
            updated_at=now,
        )
        await self._media.stage(keys)
        try:
            hashing = None if file.sha256 else HashingReader(file.data)
            audio.file_size = await self._media.put_file(
                audio_key, cast(BinaryIO, hashing or file.data), info.content_type
            )
            audio.content_hash = file.sha256 or (hashing.hexdigest() if hashing else None)
            if cover is not None and cover_key is not None:
                await self._media.put_image(cover_key, cover)
            async with self._uow() as uow:
                user = await uow.users.get(owner_id, for_update=True)  # serialises this owner's uploads
                if user is None:
                    raise NotFound(USER_NOT_FOUND)
                problem = user.upload_quota_problem(await uow.audio_files.count_for_owner(owner_id))
                if problem:
                    raise PermissionDenied(problem)
                await uow.audio_files.add(audio)
                await uow.library.file(audio)  # the library read model, in the same transaction
                await self._media.settle(uow, keys)
                await audit(uow, self._clock, AuditEvent.AUDIO_UPLOADED, user_id=owner_id, audio_file_id=audio.id)
                await uow.commit()
        except BaseException:
            await self._media.discard(keys)
            raise
        await self._lists.invalidate()
        return OwnedAudio(audio, user)

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
