"""Shapes of audio files, and their presenter (also used by collections, for their tracks, and by
the admin screens)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from sono.application.annotations.messages import AnnotateSongs
from sono.application.audio.messages import AudioDetails
from sono.application.audio.ports import AudioList, AudioView
from sono.application.bus import MessageBus
from sono.application.messages import Actor
from sono.application.values import UNSET as APP_UNSET
from sono.domain.annotations import UNANNOTATED, SongAnnotation
from sono.domain.audio import TITLE_MAX, AudioFile
from sono.domain.errors import FieldError, ValidationFailed
from sono.domain.users import UploadQuota
from sono.entrypoints.http.accounts.schemas import PublicUserOut, public_user_shape
from sono.entrypoints.http.schemas import EDGE_TEXT_MAX, Input, documented, page_fields, text, utc, values_of


class AudioOut(msgspec.Struct):
    id: int
    title: str
    description: str | None
    original_filename: str
    content_type: str
    file_size: int
    duration: Annotated[float | None, Meta(description="Seconds")]
    bitrate: int | None
    sample_rate: int | None
    channels: int | None
    format: str
    is_public: bool
    owner_id: int
    owner: PublicUserOut
    upload_date: datetime | None
    updated_at: datetime | None
    file_url: Annotated[str, Meta(description="Where the caller can fetch and play the file (signed, expiring)")]
    artist: str | None = None
    album: str | None = None
    track_number: int | None = None
    year: int | None = None
    genre: str | None = None
    cover_art_url: str | None = None
    starred: Annotated[
        datetime | UnsetType | None,
        Meta(description="When the caller starred it (null: not starred); only for a signed-in caller"),
    ] = UNSET
    play_count: Annotated[
        int | UnsetType, Meta(description="The caller's finished listens; only for a signed-in caller")
    ] = UNSET
    last_played: Annotated[
        datetime | UnsetType | None,
        Meta(description="The caller's latest finished listen (null: never); only for a signed-in caller"),
    ] = UNSET


_FIELDS = frozenset(field.name for field in fields(AudioFile))


def audio_shape(audio: AudioFile, owner: PublicUserOut, urls: Mapping[str, str]) -> AudioOut:
    """The audio shape for a caller who may see the file (the use case decided that), with the
    URLs the use case resolved (by key: the file's and its cover's)."""
    v = values_of(audio, _FIELDS)
    assert v["id"] is not None
    cover = v["cover_art_key"]
    return AudioOut(
        id=v["id"],
        title=v["title"],
        description=v["description"],
        original_filename=v["original_filename"],
        content_type=v["content_type"],
        file_size=v["file_size"],
        duration=v["duration"],
        bitrate=v["bitrate"],
        sample_rate=v["sample_rate"],
        channels=v["channels"],
        format=v["format"],
        is_public=v["is_public"],
        owner_id=v["owner_id"],
        owner=owner,
        upload_date=utc(v["upload_date"]),
        updated_at=utc(v["updated_at"]),
        file_url=urls[v["storage_key"]],
        artist=v["artist"],
        album=v["album"],
        track_number=v["track_number"],
        year=v["year"],
        genre=v["genre"],
        cover_art_url=urls[cover] if cover else None,
    )


def audio_view_out(view: AudioView, owner: PublicUserOut | None = None) -> AudioOut:
    """The audio shape of the core's read model (``owner``: its owner's shape, when made already)."""
    if owner is None:
        owner = public_user_shape(view.owner.user, view.owner.picture_url)
    urls = {view.audio.storage_key: view.file_url}
    if view.audio.cover_art_key and view.cover_art_url is not None:
        urls[view.audio.cover_art_key] = view.cover_art_url
    return audio_shape(view.audio, owner, urls)


def audio_view_outs(views: Iterable[AudioView]) -> list[AudioOut]:
    """Several files of the read model, each owner shaped once."""
    owners: dict[int | None, PublicUserOut] = {}
    result = []
    for view in views:
        owner = owners.get(view.owner.user.id)
        if owner is None:
            owner = owners[view.owner.user.id] = public_user_shape(view.owner.user, view.owner.picture_url)
        result.append(audio_view_out(view, owner))
    return result


def audio_list_page(found: AudioList) -> AudioPage:
    return audio_page(audio_view_outs(found.items), found.total, found.skip)


Annotate = Callable[[Sequence[int]], Awaitable[Mapping[int, SongAnnotation]]]
"""The caller's annotations of the files with these ids (one read)."""


def annotator(bus: MessageBus, actor: Actor) -> Annotate | None:
    """How the caller's stars and plays are found (through the bus: ``AnnotateSongs``); None for an
    anonymous caller, whose audio shapes leave those fields out."""
    if actor.user_id is None:
        return None

    async def annotate(audio_ids: Sequence[int]) -> Mapping[int, SongAnnotation]:
        return await bus(AnnotateSongs(tuple(audio_ids)), actor)

    return annotate


async def for_caller(annotate: Annotate | None, items: Sequence[AudioOut]) -> list[AudioOut]:
    """``items`` with the caller's annotations (one read), or as they are for an anonymous caller."""
    if annotate is None or not items:
        return list(items)
    return annotated(items, await annotate([item.id for item in items]))


def annotated(items: Sequence[AudioOut], notes: Mapping[int, SongAnnotation]) -> list[AudioOut]:
    """Copies of ``items`` (shared, possibly kept answers: never changed) with the caller's
    ``starred``, ``play_count`` and ``last_played`` (``notes`` by file id; a file missing there was
    never starred nor played)."""
    result = []
    for item in items:
        note = notes.get(item.id, UNANNOTATED)
        result.append(
            msgspec.structs.replace(
                item, starred=utc(note.starred), play_count=note.play_count, last_played=utc(note.last_played)
            )
        )
    return result


# --------------------------------------------------------------------------- lists and other answers


class AudioPage(msgspec.Struct):
    """The list envelope, with the same array under ``files`` for the existing clients."""

    items: list[AudioOut]
    total: int
    has_more: bool
    files: list[AudioOut]


def audio_page(items: list[AudioOut], total: int, skip: int) -> AudioPage:
    fields = page_fields(items, total, skip)
    return AudioPage(**fields, files=fields["items"])


class UploadStatsOut(msgspec.Struct):
    used_uploads: int
    max_uploads: int
    remaining_uploads: int
    total_bytes: int


def upload_stats_out(stats: UploadQuota) -> UploadStatsOut:
    return UploadStatsOut(stats.used_uploads, stats.max_uploads, stats.remaining_uploads, stats.total_bytes)


class DeletedFilesOut(msgspec.Struct):
    message: str
    deleted_count: int


class UploadsResetOut(msgspec.Struct):
    message: str
    deleted_count: int
    max_audio_uploads: int


# --------------------------------------------------------------------------- requests

OptionalText = Annotated[str, text(EDGE_TEXT_MAX)] | UnsetType | None


class AudioUpdateIn(Input):
    """A field left out stays as it is; ``null`` clears an optional one. ``title`` is 1 to 200
    characters, ``description`` at most 5000, ``artist``/``album`` 200, ``genre`` 100;
    ``track_number`` and ``year`` 1..9999."""

    title: Annotated[str, text(EDGE_TEXT_MAX, extra_json_schema=documented(min_length=1, max_length=TITLE_MAX))] | (
        UnsetType
    ) = UNSET
    description: OptionalText = UNSET
    is_public: bool | UnsetType = UNSET
    artist: OptionalText = UNSET
    album: OptionalText = UNSET
    track_number: int | UnsetType | None = UNSET
    year: int | UnsetType | None = UNSET
    genre: OptionalText = UNSET

    def changes(self) -> dict[str, Any]:
        """Keyword arguments for ``UpdateAudio``."""
        return {
            name: APP_UNSET if getattr(self, name) is UNSET else getattr(self, name) for name in self.__struct_fields__
        }


UPLOAD_FIELDS = {
    "title": "At most 200 characters; default: the file's title tag, else its name without the extension",
    "description": "At most 5000 characters",
    "is_public": "`true` or `false` (default)",
    "artist": "At most 200 characters; default: the file's tag",
    "album": "At most 200 characters; default: the file's tag",
    "track_number": "1..9999; default: the file's tag",
    "year": "1..9999; default: the file's tag",
    "genre": "At most 100 characters; default: the file's tag",
}
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})
NOT_A_BOOLEAN = "Input should be a valid boolean"
NOT_AN_INTEGER = "Input should be a valid integer"


def upload_details(fields: Mapping[str, str]) -> AudioDetails:
    """The upload form's text fields as the use case takes them: blank means not given; a value
    that is not a boolean or an integer where one is expected is a 422 naming the field."""
    errors: list[FieldError] = []

    def optional(name: str) -> str | None:
        value = fields.get(name)
        return value if value is not None and value.strip() else None

    def integer(name: str) -> int | None:
        value = optional(name)
        if value is None:
            return None
        try:
            return int(value.strip())
        except ValueError:  # also digits beyond Python's conversion limit
            errors.append(FieldError(name, NOT_AN_INTEGER, "int_parsing"))
            return None

    is_public = False
    flag = fields.get("is_public", "").strip().lower()
    if flag in _TRUE:
        is_public = True
    elif flag not in _FALSE:
        errors.append(FieldError("is_public", NOT_A_BOOLEAN, "bool_parsing"))
    details = AudioDetails(
        title=optional("title"),
        description=optional("description"),
        is_public=is_public,
        artist=optional("artist"),
        album=optional("album"),
        track_number=integer("track_number"),
        year=integer("year"),
        genre=optional("genre"),
    )
    if errors:
        raise ValidationFailed(errors)
    return details
