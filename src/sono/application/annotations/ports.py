"""Where stars and plays are kept, and how albums and artists to star are found."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from sono.domain.annotations import PlayCount, SongAnnotation, Star, StarKind


class AnnotationRepository(Protocol):
    async def star(self, user_id: int, kind: StarKind, item_ids: Sequence[int], at: datetime) -> None:
        """Star the items (ones already starred keep their ``starred_at``; concurrent stars of
        the same item by the same user are no conflict)."""

    async def unstar(self, user_id: int, kind: StarKind, item_ids: Sequence[int]) -> None: ...
    async def stars_of(self, user_id: int) -> list[Star]:
        """Every star of the user, newest first (``newest_stars_first``)."""

    async def record_play(self, user_id: int, audio_file_id: int, at: datetime) -> None:
        """One more listen (``after_listen``), atomically (concurrent listens are all counted)."""

    async def plays_of(self, user_id: int) -> list[PlayCount]:
        """Every play counter of the user, most recently played first."""

    async def forget_stars(self, kind: StarKind, item_ids: Sequence[int]) -> None:
        """Remove every user's stars of these items, about to be deleted, in the same unit of work
        (stars have no foreign key: the use cases deleting audio files, and library albums or
        artists, call this; play counters go with their files by their foreign key)."""


class SongAnnotations(Protocol):
    """The read of a screen's files for one user (outside units of work: one statement)."""

    async def songs(self, user_id: int, audio_ids: Iterable[int]) -> dict[int, SongAnnotation]:
        """The user's annotations of these files (files never starred nor played are left out)."""
