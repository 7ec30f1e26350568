"""Collections (albums, playlists, compilations), their tracks and collaborators."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class CollectionType(enum.StrEnum):
    ALBUM = "album"
    PLAYLIST = "playlist"
    COMPILATION = "compilation"


class Permission(enum.StrEnum):
    EDIT = "edit"
    VIEW = "view"


@dataclass(eq=False)
class Collection:
    owner_id: int
    title: str
    collection_type: CollectionType
    description: str | None = None
    artist: str | None = None
    curator_note: str | None = None
    cover_art_key: str | None = None
    is_public: bool = False
    is_collaborative: bool = False
    created_date: datetime | None = None
    updated_date: datetime | None = None
    id: int | None = None


@dataclass(eq=False)
class CollectionTrack:
    collection_id: int
    audio_file_id: int
    track_order: int
    added_date: datetime | None = None
    added_by_id: int | None = None
    id: int | None = None


@dataclass(eq=False)
class Collaborator:
    collection_id: int
    user_id: int
    permission_level: Permission
    added_date: datetime | None = None
    added_by_id: int | None = None
    id: int | None = None
