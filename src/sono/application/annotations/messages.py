"""What entrypoints may ask of stars and plays, and what they get back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sono.application.messages import Audience, Command, Query
from sono.domain.annotations import SongAnnotation, Star


@dataclass(frozen=True, slots=True)
class StarItems(Command[None]):
    """Star songs (audio file ids), albums and artists of the library for the caller. Starring
    again keeps the first ``starred_at``. An id the caller may not see is 404 and nothing changes."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    songs: tuple[int, ...] = ()
    albums: tuple[int, ...] = ()
    artists: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class UnstarItems(Command[None]):
    """Remove the caller's stars (idempotent). An id the caller may not see is 404 and nothing
    changes, as for ``StarItems`` (also when they starred it while they could: such a star is
    listed nowhere but the caller's data export, and goes with the file or the account)."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    songs: tuple[int, ...] = ()
    albums: tuple[int, ...] = ()
    artists: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class RecordPlays(Command[None]):
    """Finished listens of the caller: (audio file id, when; None = now). ``submission=False``
    (a player's "now playing") records nothing, but an id the caller may not see is still 404."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    plays: tuple[tuple[int, datetime | None], ...] = ()
    submission: bool = True


@dataclass(frozen=True, slots=True)
class Starred:
    """The caller's stars, newest first per kind (songs the caller may no longer see, and albums
    and artists the library no longer shows them, are left out)."""

    songs: list[Star]
    albums: list[Star]
    artists: list[Star]


@dataclass(frozen=True, slots=True)
class GetStarred(Query[Starred]):
    audience: ClassVar[Audience] = Audience.SIGNED_IN


@dataclass(frozen=True, slots=True)
class AnnotateSongs(Query[dict[int, SongAnnotation]]):
    """The caller's star, play count and last play of each of these files (ids the caller never
    starred nor played are left out: ``UNANNOTATED``). One read; the files are ones the caller was
    already shown, so no visibility is checked here."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    audio_ids: tuple[int, ...] = ()
