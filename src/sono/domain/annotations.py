"""Stars and plays: what a user marks and listens to (their own data, per user).

A star marks a song (an audio file), an album or an artist of the library for one user, once; it
keeps the moment it was first given. Plays are counted per user and file, with the last listen:
what the per-user lists need ("most played", "recently played") without keeping every listen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

STARS_MAX = 500
"""Items one message may star or unstar at once."""
PLAYS_MAX = 500
"""Listens one message may record at once."""
TOO_MANY_STARS = f"At most {STARS_MAX} items at once"
TOO_MANY_PLAYS = f"At most {PLAYS_MAX} plays at once"
ALBUM_NOT_FOUND = "Album not found"
ARTIST_NOT_FOUND = "Artist not found"


class StarKind(StrEnum):
    """What a star marks (the ``item_type`` column)."""

    SONG = "song"
    ALBUM = "album"
    ARTIST = "artist"


@dataclass(frozen=True, slots=True)
class Star:
    """One user's star on one item."""

    user_id: int
    kind: StarKind
    item_id: int
    starred_at: datetime


@dataclass(frozen=True, slots=True)
class PlayCount:
    """How often one user finished listening to one file, and when last."""

    user_id: int
    audio_file_id: int
    count: int
    last_played: datetime


@dataclass(frozen=True, slots=True)
class SongAnnotation:
    """A file as one user marked and played it."""

    starred: datetime | None = None
    play_count: int = 0
    last_played: datetime | None = None


UNANNOTATED = SongAnnotation()


def listened_at(at: datetime | None, now: datetime) -> datetime:
    """When a listen happened: ``now`` when not told; a naive time is UTC; a time in the future
    (a player's clock ahead) is ``now``."""
    if at is None:
        return now
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return min(at, now)


def after_listen(count: int, last_played: datetime | None, at: datetime) -> tuple[int, datetime]:
    """The counter after one more listen at ``at``: one more, and the latest listen (a listen
    submitted late, e.g. by a player that was offline, does not move ``last_played`` back)."""
    return count + 1, at if last_played is None or at > last_played else last_played


def newest_stars_first(stars: list[Star]) -> list[Star]:
    """The order a user's stars are listed in: newest first, then by kind and id."""
    return sorted(stars, key=lambda s: (-s.starred_at.timestamp(), s.kind.value, s.item_id))
