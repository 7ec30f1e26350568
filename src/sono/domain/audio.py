"""Audio files and who may see or change them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sono.domain.access import Viewer
from sono.domain.library import LISTED_PUBLICLY, SongFacts

TITLE_MAX = 200
DESCRIPTION_MAX = 5000
TAG_MAX = 200
GENRE_MAX = 100
TRACK_NUMBER_MIN, TRACK_NUMBER_MAX = 1, 9999
YEAR_MIN, YEAR_MAX = 1, 9999
UNTITLED = "Untitled"

AUDIO_NOT_FOUND = "Audio file not found"
COVER_ART_NOT_FOUND = "Cover art not found"
TITLE_EMPTY = "Title must not be empty"


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
    content_hash: str | None = None
    """The SHA-256 of the stored audio bytes, hex (None for files stored before it was kept)."""
    id: int | None = None

    def visible_to(self, viewer: Viewer, *, owner_active: bool = True) -> bool:
        """Its owner and admins see it; anyone else only while it is public and its owner's
        account is active (``LISTED_PUBLICLY``). (A collection can share a private file further:
        see collections.)"""
        if viewer.is_admin or viewer.is_user(self.owner_id):
            return True
        return self.listed_publicly(owner_active=owner_active)

    def listed_publicly(self, *, owner_active: bool) -> bool:
        """In the public list: ``LISTED_PUBLICLY`` evaluated on this file."""
        return LISTED_PUBLICLY.holds(SongFacts(self.owner_id, self.is_public, owner_active))

    def manageable_by(self, viewer: Viewer) -> bool:
        """Only its owner and admins change or delete it."""
        return viewer.is_admin or viewer.is_user(self.owner_id)

    @property
    def stored_keys(self) -> list[str]:
        """Every stored object of the file (the audio and its cover art)."""
        return [self.storage_key, *([self.cover_art_key] if self.cover_art_key else [])]


def title_problems(title: str) -> list[str]:
    if not title.strip():
        return [TITLE_EMPTY]
    return bounded_problems("Title", title, TITLE_MAX)


def bounded_problems(label: str, value: str | None, maximum: int) -> list[str]:
    """``label`` (as the message names the field) is at most ``maximum`` characters."""
    if value is not None and len(value) > maximum:
        return [f"{label} must be at most {maximum} characters"]
    return []


def track_number_problems(track_number: int | None) -> list[str]:
    if track_number is not None and not TRACK_NUMBER_MIN <= track_number <= TRACK_NUMBER_MAX:
        return [f"Track number must be between {TRACK_NUMBER_MIN} and {TRACK_NUMBER_MAX}"]
    return []


def year_problems(year: int | None) -> list[str]:
    if year is not None and not YEAR_MIN <= year <= YEAR_MAX:
        return [f"Year must be between {YEAR_MIN} and {YEAR_MAX}"]
    return []


@dataclass(frozen=True, slots=True)
class SameContent:
    """Which of an owner's files hold given contents (the library import's "already imported"
    rule): those whose ``content_hash`` is one of ``content_hashes``. A specification: the in-memory
    fake evaluates ``matches``, the SQL adapter compiles the same fields into its WHERE."""

    owner_id: int
    content_hashes: frozenset[str]

    def matches(self, audio: AudioFile) -> bool:
        return audio.owner_id == self.owner_id and audio.content_hash in self.content_hashes


def default_title(tag_title: str | None, original_filename: str) -> str:
    """The title of an upload whose form gave none: the file's own title tag, else its file name
    without the extension."""
    if tag_title and tag_title.strip():
        return tag_title.strip()[:TITLE_MAX]
    stem, dot, _ = original_filename.rpartition(".")
    name = stem if dot and stem else original_filename
    return name.strip()[:TITLE_MAX] or UNTITLED
