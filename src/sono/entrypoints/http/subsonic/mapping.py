"""Sono's objects as the Subsonic shapes describe them (plain mappings for ``model.to_json``): an
audio file as a ``Child`` song, a collection as a ``Playlist``, a user as a ``User``.

Nothing here decides who sees what: the values come from the core, already filtered for the caller.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sono.application.collections.views import CollectionView
from sono.domain.annotations import SongAnnotation
from sono.domain.audio import AudioFile
from sono.domain.users import User
from sono.entrypoints.subsonic import ids
from sono.entrypoints.subsonic.ids import Kind

MUSIC_FOLDER_ID = 1
MUSIC_FOLDER_NAME = "Sono"
UNKNOWN_ARTIST = "[Unknown Artist]"
UNKNOWN_ALBUM = "[Unknown Album]"
_PATH_UNSAFE = re.compile(r"[/\\\x00-\x1f]")


def song_cover(audio: AudioFile) -> str | None:
    """The cover art id of a song with embedded cover art (its version follows the stored key)."""
    if not audio.cover_art_key or audio.id is None:
        return None
    return ids.cover_id(Kind.TRACK, audio.id, ids.cover_version(audio.cover_art_key))


def _path_part(text: str) -> str:
    return _PATH_UNSAFE.sub("_", text).strip() or "_"


def song_path(audio: AudioFile) -> str:
    """A made-up ``artist/album/NN - title.ext`` (never a storage key): some players sort or group
    by it."""
    number = f"{audio.track_number:02d} - " if audio.track_number else ""
    suffix = audio.format or "bin"
    return "/".join(
        (
            _path_part(audio.artist or UNKNOWN_ARTIST),
            _path_part(audio.album or UNKNOWN_ALBUM),
            f"{number}{_path_part(audio.title)}.{suffix}",
        )
    )


def child(audio: AudioFile, **extra: Any) -> dict[str, Any]:
    """A song (``Child``). ``extra`` adds what the caller's view knows beyond the file (``parent``,
    ``albumId``, ``artistId``, ``starred``, ``playCount``, ``played``)."""
    assert audio.id is not None
    value: dict[str, Any] = {
        "id": ids.item_id(Kind.TRACK, audio.id),
        "isDir": False,
        "title": audio.title,
        "album": audio.album,
        "artist": audio.artist,
        "track": audio.track_number,
        "year": audio.year,
        "genre": audio.genre,
        "coverArt": song_cover(audio),
        "size": audio.file_size,
        "contentType": audio.content_type,
        "suffix": audio.format or None,
        "duration": round(audio.duration) if audio.duration is not None else None,
        "bitRate": round(audio.bitrate / 1000) if audio.bitrate else None,
        "path": song_path(audio),
        "isVideo": False,
        "created": audio.upload_date,
        "type": "music",
        "samplingRate": audio.sample_rate,
        "channelCount": audio.channels,
        "mediaType": "song",
    }
    value.update(extra)
    return value


def playlist_cover(view: CollectionView) -> str | None:
    """The collection's cover, else its first track's (when the view has its tracks)."""
    collection = view.collection
    assert collection.id is not None
    if collection.cover_art_key:
        return ids.cover_id(Kind.PLAYLIST, collection.id, ids.cover_version(collection.cover_art_key))
    for track in view.tracks or ():
        if track.audio.cover_art_key:
            return ids.cover_id(Kind.PLAYLIST, collection.id, ids.cover_version(track.audio.cover_art_key))
    return None


def playlist(
    view: CollectionView, *, with_entries: bool = False, notes: Mapping[int, SongAnnotation] | None = None
) -> dict[str, Any]:
    """A collection as a playlist; ``notes``: the caller's stars and plays of its songs."""
    collection = view.collection
    assert collection.id is not None
    value: dict[str, Any] = {
        "id": ids.item_id(Kind.PLAYLIST, collection.id),
        "name": collection.title,
        "comment": collection.description,
        "owner": view.owner.username,
        "public": collection.is_public,
        "songCount": view.totals.count,
        "duration": round(view.totals.duration),
        "created": collection.created_date,
        "changed": collection.updated_date or collection.created_date,
        "coverArt": playlist_cover(view),
        "readonly": not view.can_edit,
        "allowedUser": [c.user.username for c in view.collaborators],
    }
    if with_entries:
        notes = notes or {}
        value["entry"] = [child(t.audio, **annotated(notes.get(t.audio.id or 0))) for t in view.tracks or ()]
    return value


def annotated(note: SongAnnotation | None) -> dict[str, Any]:
    """A song's ``starred``, ``playCount`` and ``played`` for the caller (nothing when unmarked)."""
    if note is None:
        return {}
    return {"starred": note.starred, "playCount": note.play_count or None, "played": note.last_played}


def user(account: User) -> dict[str, Any]:
    return {
        "username": account.username,
        "email": account.email,
        "scrobblingEnabled": True,
        "adminRole": account.is_superuser,
        "settingsRole": False,
        "downloadRole": True,
        "uploadRole": account.max_audio_uploads > 0,
        "playlistRole": True,
        "coverArtRole": True,
        "commentRole": False,
        "podcastRole": False,
        "streamRole": True,
        "jukeboxRole": False,
        "shareRole": False,
        "videoConversionRole": False,
        "folder": [MUSIC_FOLDER_ID],
    }
