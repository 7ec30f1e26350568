"""Audio files: uploads (content-checked, quota-bound, stored crash-safely), reading them as their
visibility allows, changing and deleting them, and the admins' bulk operations.

An upload is decided by its content: the inspector names the format (whatever the file name or
the client claimed) and reads the stream parameters and tags, off the event loop. The stored key is
generated; the client's file name is kept, cleaned, for display only. Its objects are staged
before they are written and the row is inserted in one transaction with the quota check, under a
lock on the owner's row (PostgreSQL) or SQLite's writer lock, so concurrent uploads cannot pass the
limit together; any failure removes the objects again (see ``MediaService.stage``).
"""

from __future__ import annotations

import io
import logging
import uuid
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from sono.application.audio.hashing import HashingReader
from sono.application.audio.ports import AudioCatalog, OwnedAudio
from sono.application.audio.visibility import visible_audio
from sono.application.common import UNSET, Page, Principal, Problems, audit, hold_users
from sono.application.gdpr.erasure import close_gaps
from sono.application.media.ports import ObjectInfo
from sono.application.media.service import MediaService
from sono.application.messages import Audience
from sono.application.ports import Clock
from sono.application.uow import UnitOfWork, UnitOfWorkFactory
from sono.domain.access import Viewer
from sono.domain.annotations import StarKind
from sono.domain.audio import (
    AUDIO_NOT_FOUND,
    COVER_ART_NOT_FOUND,
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
from sono.domain.users import DEFAULT_MAX_AUDIO_UPLOADS, UploadQuota, User

log = logging.getLogger(__name__)

USER_NOT_FOUND = "User not found"
NOT_ALLOWED = "Not enough permissions"
ID_MAX = 2**31 - 1
"""Ids are 32-bit integers in the schema: a larger one names nothing (and must not reach SQL)."""


@dataclass(frozen=True, slots=True)
class AudioDetails:
    """What an upload form says about the file; None where it says nothing (the file's tags
    fill in ``title``, ``artist``, ``album``, ``track_number``, ``year`` and ``genre``)."""

    title: str | None = None
    description: str | None = None
    is_public: bool = False
    artist: str | None = None
    album: str | None = None
    track_number: int | None = None
    year: int | None = None
    genre: str | None = None


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """An upload received on local disk: ``path`` for the inspector, ``data`` to store from.
    ``sha256``: the hex SHA-256 of the bytes when whoever received them hashed them on the way in
    (the HTTP spool and the library import do); else the upload hashes them as it stores them."""

    path: str
    data: BinaryIO
    filename: str | None
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class StoredMedia:
    """An object of an audio file the caller may fetch: the file and the object's metadata."""

    audio: AudioFile
    key: str
    info: ObjectInfo


class AudioService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        media: MediaService,
        clock: Clock,
        catalog: AudioCatalog | None = None,
        *,
        default_upload_limit: int = DEFAULT_MAX_AUDIO_UPLOADS,
    ) -> None:
        self._default_upload_limit = default_upload_limit  # what reset_quota restores
        self._uow = uow
        self._media = media
        self._clock = clock
        self._catalog = catalog

    # ------------------------------------------------------------------ uploading

    async def check_quota(self, principal: Principal) -> None:
        """Refuse (403) before a body is read when the caller's quota is already full. The upload
        checks again, atomically, when it inserts."""
        async with self._uow(read_only=True) as uow:
            used = await uow.audio_files.count_for_owner(principal.user_id)
        problem = principal.user.upload_quota_problem(used)
        if problem:
            raise PermissionDenied(problem)

    async def upload(
        self, principal: Principal, file: UploadedFile, details: AudioDetails, *, ip: str | None = None
    ) -> OwnedAudio:
        return await self.upload_for(principal.user_id, file, details, ip=ip)

    async def upload_for(
        self, owner_id: int, file: UploadedFile, details: AudioDetails, *, ip: str | None = None
    ) -> OwnedAudio:
        """The upload of a file for its owner: the caller's own (``upload``), or the owner the library
        import names (the command line acts for them; the same checks and limits apply)."""
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
                await audit(
                    uow, self._clock, AuditEvent.AUDIO_UPLOADED, user_id=owner_id, ip=ip, audio_file_id=audio.id
                )
                await uow.commit()
        except BaseException:
            await self._media.discard(keys)
            raise
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

    # ------------------------------------------------------------------ reading

    async def get(self, viewer: Viewer, audio_id: int) -> OwnedAudio:
        """A file the viewer may see (404 otherwise, whether or not it exists)."""
        async with self._uow(read_only=True) as uow:
            return await self._visible(uow, viewer, audio_id)

    async def my_files(self, principal: Principal, *, skip: int, limit: int) -> Page[AudioFile]:
        async with self._uow(read_only=True) as uow:
            return await uow.audio_files.list_for_owner(principal.user_id, skip=skip, limit=limit)

    async def public_files(self, *, skip: int, limit: int) -> Page[OwnedAudio]:
        """Public files of active owners, newest first (from the catalog when there is one)."""
        if self._catalog is not None:
            return await self._catalog.public_page(skip=skip, limit=limit)
        async with self._uow(read_only=True) as uow:
            return await uow.audio_files.listing(public_only=True, skip=skip, limit=limit)

    async def stats(self, principal: Principal) -> UploadQuota:
        """The caller's upload quota and usage."""
        async with self._uow(read_only=True) as uow:
            return await upload_stats(uow, principal.user)

    async def download(self, viewer: Viewer, audio_id: int) -> StoredMedia:
        """The audio object of a file the viewer may see."""
        async with self._uow(read_only=True) as uow:
            audio = (await self._visible(uow, viewer, audio_id)).audio
        return StoredMedia(audio, audio.storage_key, await self._media.info(audio.storage_key))

    async def cover_art(self, viewer: Viewer, audio_id: int) -> StoredMedia:
        """The cover art of a file the viewer may see (404 when it has none)."""
        async with self._uow(read_only=True) as uow:
            audio = (await self._visible(uow, viewer, audio_id)).audio
        if not audio.cover_art_key:
            raise NotFound(COVER_ART_NOT_FOUND)
        return StoredMedia(audio, audio.cover_art_key, await self._media.info(audio.cover_art_key))

    # ------------------------------------------------------------------ changing

    async def update(self, principal: Principal, audio_id: int, *, ip: str | None = None, **changes: Any) -> OwnedAudio:
        """Change the fields that were sent (``UNSET`` leaves one as it is; ``None`` clears an
        optional one). Owner and admins only."""
        changes = {name: value for name, value in changes.items() if value is not UNSET}
        check_changes(changes)
        if "title" in changes:
            changes["title"] = changes["title"].strip()
        async with self._uow() as uow:
            audio, owner = await self._manageable(uow, principal, audio_id)
            changed = sorted(name for name, value in changes.items() if getattr(audio, name) != value)
            for name in changed:
                setattr(audio, name, changes[name])
            if changed:
                audio.updated_at = self._clock.now()
                if "is_public" in changed and not audio.is_public:
                    await self._unshare(uow, audio)
                if {"title", "artist", "album"}.intersection(changed):
                    await uow.library.file(audio)  # filed anew under its tags, in the same transaction
                await audit(
                    uow,
                    self._clock,
                    AuditEvent.AUDIO_UPDATED,
                    user_id=audio.owner_id,
                    actor_id=principal.user_id,
                    ip=ip,
                    audio_file_id=audio.id,
                    fields=changed,
                )
            await uow.commit()
        return OwnedAudio(audio, owner)

    async def delete(self, principal: Principal, audio_id: int, *, ip: str | None = None) -> None:
        """Delete the file (owner and admins): its entries leave every collection (the others
        close up) in the same transaction, then its objects are removed."""
        async with self._uow() as uow:
            audio, _ = await self._manageable(uow, principal, audio_id)
            assert audio.id is not None
            keys = audio.stored_keys
            await close_gaps(uow, [audio.id])
            await uow.annotations.forget_stars(StarKind.SONG, [audio.id])  # song stars have no foreign key
            await uow.audio_files.delete(audio)
            await audit(
                uow,
                self._clock,
                AuditEvent.AUDIO_DELETED,
                user_id=audio.owner_id,
                actor_id=principal.user_id,
                ip=ip,
                audio_file_id=audio_id,
            )
            await self._media.release(uow, keys)
            await uow.commit()

    # ------------------------------------------------------------------ admins

    async def all_files(
        self, principal: Principal, *, skip: int, limit: int, ip: str | None = None
    ) -> Page[OwnedAudio]:
        """Every file, newest first (admins)."""
        _require_admin(principal)
        async with self._uow() as uow:
            page = await uow.audio_files.listing(public_only=False, skip=skip, limit=limit)
            await audit(
                uow, self._clock, AuditEvent.ADMIN_ACTION, actor_id=principal.user_id, ip=ip, action="list_audio_files"
            )
            await uow.commit()
        return page

    async def delete_all_of(
        self, principal: Principal, user_id: int, *, reset_quota: bool = False, ip: str | None = None
    ) -> tuple[int, User]:
        """Delete every file of the user (admins), closing the gaps they leave in collections;
        ``reset_quota`` also restores the default upload limit. Returns the number deleted."""
        _require_admin(principal)
        async with self._uow() as uow:
            await hold_users(uow, principal)
            user = await uow.users.get(user_id, for_update=True) if 0 < user_id <= ID_MAX else None
            if user is None:
                raise NotFound(USER_NOT_FOUND)
            audio_ids = await uow.audio_files.ids_for_owner(user_id)
            await uow.audio_files.hold(audio_ids, exclusive=True)
            await close_gaps(uow, audio_ids)
            await uow.annotations.forget_stars(StarKind.SONG, audio_ids)
            keys = await uow.audio_files.delete_for_owner(user_id)
            if reset_quota:
                user.max_audio_uploads = self._default_upload_limit
                user.updated_at = self._clock.now()
            await audit(
                uow,
                self._clock,
                AuditEvent.ADMIN_ACTION,
                user_id=user_id,
                actor_id=principal.user_id,
                ip=ip,
                action="reset_uploads" if reset_quota else "delete_audio_files",
                deleted_count=len(audio_ids),
            )
            await self._media.release(uow, keys)
            await uow.commit()
        return len(audio_ids), user

    @staticmethod
    async def _unshare(uow: UnitOfWork, audio: AudioFile) -> None:
        """A file made private leaves every collection its owner neither owns nor collaborates on
        (``Collection.may_hold``); the others close up. The file is locked already, so the
        collections are locked after it (the lock order of ``sono.application.uow``)."""
        assert audio.id is not None
        for collection in await uow.collections.containing_audio([audio.id]):
            if collection.drop_unshared([audio]):
                await uow.collections.save(collection)

    # ------------------------------------------------------------------ access

    async def _visible(self, uow: UnitOfWork, viewer: Viewer, audio_id: int) -> OwnedAudio:
        """A file the viewer may read: one they see (``AudioFile.visible_to``), or one shared with
        them through a collection they see (``shared_with``); else 404, whether or not it exists."""
        return await visible_audio(uow, viewer, audio_id)

    async def _manageable(self, uow: UnitOfWork, principal: Principal, audio_id: int) -> tuple[AudioFile, User]:
        """A file the caller may change, locked for the change (after the caller and its owner
        are held: the lock order of ``sono.application.uow``): 404 when they cannot even see it,
        403 when they see it but it is not theirs."""
        viewer = principal.viewer
        audio = await uow.audio_files.get(audio_id) if 0 < audio_id <= ID_MAX else None
        await hold_users(uow, principal, audio.owner_id if audio is not None else None)
        if audio is not None and await uow.audio_files.get(audio_id, for_update=True) is None:
            raise NotFound(AUDIO_NOT_FOUND)  # deleted meanwhile (the session still holds what it read)
        view = await self._visible(uow, viewer, audio_id)
        if not view.audio.manageable_by(viewer):
            raise PermissionDenied(NOT_ALLOWED)
        return view.audio, view.owner


async def upload_stats(uow: UnitOfWork, user: User) -> UploadQuota:
    """A user's upload quota and usage."""
    assert user.id is not None
    used = await uow.audio_files.count_for_owner(user.id)
    return user.upload_quota(used, await uow.audio_files.total_bytes_for_owner(user.id))


def _require_admin(principal: Principal) -> None:
    Audience.ADMIN.check(principal.actor)


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


def check_changes(changes: dict[str, Any]) -> None:
    """Every rule an update breaks, as one 422 (only the fields sent are checked)."""
    problems = Problems()
    if "title" in changes:
        problems.check("title", title_problems(changes["title"] or ""))
    labels = {"description": DESCRIPTION_MAX, "artist": TAG_MAX, "album": TAG_MAX, "genre": GENRE_MAX}
    for name, maximum in labels.items():
        if name in changes:
            problems.check(name, bounded_problems(name.capitalize(), changes[name], maximum))
    if "track_number" in changes:
        problems.check("track_number", track_number_problems(changes["track_number"]))
    if "year" in changes:
        problems.check("year", year_problems(changes["year"]))
    if "is_public" in changes and changes["is_public"] is None:
        problems.check("is_public", ["is_public must be true or false"])
    problems.raise_if_any()
