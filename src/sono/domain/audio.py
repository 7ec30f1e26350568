"""Audio files and who may see or change them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sono.domain.access import Viewer

TITLE_MAX = 200
DESCRIPTION_MAX = 5000
TAG_MAX = 200
GENRE_MAX = 100


@dataclass(eq=False)
class AudioFile:
    owner_id: int
    title: str
    original_filename: str
    storage_key: str
    content_type: str
    file_size: int
    format: str
    description: str | None = None
    duration: float | None = None
    bitrate: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    is_public: bool = False
    artist: str | None = None
    album: str | None = None
    track_number: int | None = None
    year: int | None = None
    genre: str | None = None
    cover_art_key: str | None = None
    upload_date: datetime | None = None
    updated_at: datetime | None = None
    id: int | None = None

    def visible_to(self, viewer: Viewer, *, owner_active: bool = True) -> bool:
        """Its owner and admins see it; anyone else only while it is public and its owner's
        account is active. (A collection can share a private file further: see collections.)"""
        if viewer.is_admin or viewer.is_user(self.owner_id):
            return True
        return self.is_public and owner_active

    def manageable_by(self, viewer: Viewer) -> bool:
        """Only its owner and admins change or delete it."""
        return viewer.is_admin or viewer.is_user(self.owner_id)

    @property
    def stored_keys(self) -> list[str]:
        """Every stored object of the file (the audio and its cover art)."""
        return [self.storage_key, *([self.cover_art_key] if self.cover_art_key else [])]
