"""Kworb's Spotify charts: the most streamed artists, the artists with the most monthly listeners
and the most streamed songs, as read from a charts database (see ``sono.application.charts``).

The rules here are shared by every reader, the HTML importer and the in-memory fake: how an artist
name is compared, which search results come first, how a chart's numbers are read and how a song's
"Artist - Title" is split."""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Protocol, TypeVar

from sono.domain.errors import SonoError

NAME_MAX = 100
"""Longest artist name a search accepts."""
SEARCH_RESULTS_MAX = 10
"""Search results per chart."""
LIMIT_MIN, LIMIT_MAX, LIMIT_DEFAULT = 1, 1000, 100
"""Rows per page of a chart."""

ARTIST_TITLE_SEPARATOR = " - "


@dataclass(frozen=True, slots=True)
class StreamedArtist:
    """A row of the most streamed artists: all-time streams, and how many as lead artist, solo and
    as a featured artist."""

    rank: int
    artist: str
    streams: int | None = None
    daily: int | None = None
    as_lead: int | None = None
    solo: int | None = None
    as_feature: int | None = None
    scraped_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MonthlyListeners:
    """A row of the artists with the most monthly listeners; ``peak`` is their highest count of
    monthly listeners, reached on ``peak_date`` when known."""

    rank: int
    artist: str
    listeners: int | None = None
    peak: int | None = None
    peak_date: date | None = None
    scraped_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Song:
    """A row of the most streamed songs. ``artist`` is the credited artist(s), empty when the chart
    gave none."""

    rank: int
    title: str
    artist: str = ""
    streams: int | None = None
    daily: int | None = None
    scraped_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ArtistSearch:
    """An artist searched across the three charts (``best_matches`` of each)."""

    top_streamed: list[StreamedArtist]
    monthly_listeners: list[MonthlyListeners]
    top_songs: list[Song]


class ChartImportFailed(SonoError):
    """A chart page could not be read, or is not shaped like the chart; nothing was imported."""

    detail = "Chart import failed"


# --------------------------------------------------------------------------- search


class Ranked(Hashable, Protocol):
    @property
    def rank(self) -> int: ...
    @property
    def artist(self) -> str: ...


R = TypeVar("R", bound=Ranked)


def fold(name: str) -> str:
    """The form in which artist names are compared: case-insensitive, Unicode-aware."""
    return name.casefold()


def is_match(artist: str, name: str) -> bool:
    """Whether a search for ``name`` finds ``artist``: ``name`` is part of it, ignoring case."""
    return fold(name) in fold(artist)


def best_matches(name: str, candidates: Iterable[R], limit: int = SEARCH_RESULTS_MAX) -> list[R]:
    """The search results of one chart among ``candidates``: the rows that match ``name``
    (``is_match``; a reader's index may be looser), exact matches first (ignoring case; the mobile
    app takes the first monthly-listeners entry as *the* artist), then by rank; at most ``limit``,
    each row once."""
    key = fold(name)
    unique = [row for row in dict.fromkeys(candidates) if key in fold(row.artist)]
    return sorted(unique, key=lambda row: (fold(row.artist) != key, row.rank))[:limit]


# --------------------------------------------------------------------------- reading charts

_SEPARATORS = re.compile(r"[,\s\u00a0\u202f'_]")
_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?\d+\.\d*")
_DOTTED_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:\.\d{3}){2,}")
_BLANKS = frozenset({"", "-", "\u2013", "\u2014", "n/a", "na", "none", "null"})


def parse_count(value: object) -> int | None:
    """A chart number as an integer: ints as they are, integral floats, and text with thousands
    separators (``1,234,567``, ``1 234 567``, ``1.234.567``) or a decimal point (rounded). ``None``
    for a missing value (``None``, blank, ``-``, ``N/A``). Raises ``ValueError`` for anything else."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        if value != value or value in (float("inf"), float("-inf")):  # NaN: how pandas writes a blank
            return None
        return round(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise ValueError(f"not a number: {value!r}")
    text = value.strip()
    if text.lower() in _BLANKS:
        return None
    compact = _SEPARATORS.sub("", text)
    if _INTEGER.fullmatch(compact):
        return int(compact)
    if _DOTTED_THOUSANDS.fullmatch(compact):
        return int(compact.replace(".", ""))
    if _DECIMAL.fullmatch(compact):
        try:
            return round(Decimal(compact))
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
            pass
    raise ValueError(f"not a number: {value!r}")


def split_artist_and_title(text: str) -> tuple[str, str]:
    """``Artist - Title`` (how Kworb lists songs) as ``(artist, title)``, split at the first
    ``" - "``. Without one the whole text is the title and the artist is empty."""
    artist, separator, title = text.partition(ARTIST_TITLE_SEPARATOR)
    if not separator:
        return "", text.strip()
    return artist.strip(), title.strip()
