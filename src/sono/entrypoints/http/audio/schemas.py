"""Shapes of audio files, and their presenter (also used by collections, for their tracks, and by
the admin screens)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from sono.application.media.service import MediaService
from sono.domain.audio import AudioFile
from sono.domain.users import User
from sono.entrypoints.http.accounts.schemas import PublicUserOut, public_user
from sono.entrypoints.http.schemas import utc


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


async def audio_out(media: MediaService, audio: AudioFile, owner: User | PublicUserOut) -> AudioOut:
    """The audio shape for a caller who may see the file (the use case decided that)."""
    assert audio.id is not None
    file_url = await media.url(audio.storage_key)
    assert file_url is not None
    return AudioOut(
        id=audio.id,
        title=audio.title,
        description=audio.description,
        original_filename=audio.original_filename,
        content_type=audio.content_type,
        file_size=audio.file_size,
        duration=audio.duration,
        bitrate=audio.bitrate,
        sample_rate=audio.sample_rate,
        channels=audio.channels,
        format=audio.format,
        is_public=audio.is_public,
        owner_id=audio.owner_id,
        owner=owner if isinstance(owner, PublicUserOut) else await public_user(media, owner),
        upload_date=utc(audio.upload_date),
        updated_at=utc(audio.updated_at),
        file_url=file_url,
        artist=audio.artist,
        album=audio.album,
        track_number=audio.track_number,
        year=audio.year,
        genre=audio.genre,
        cover_art_url=await media.url(audio.cover_art_key),
    )


async def audio_outs(media: MediaService, files: Iterable[AudioFile], owners: Mapping[int, User]) -> list[AudioOut]:
    """Several files, each owner presented once (``owners`` by id must hold every file's owner)."""
    presented: dict[int, PublicUserOut] = {}
    result = []
    for audio in files:
        owner = presented.get(audio.owner_id)
        if owner is None:
            owner = presented[audio.owner_id] = await public_user(media, owners[audio.owner_id])
        result.append(await audio_out(media, audio, owner))
    return result
