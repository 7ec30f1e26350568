"""What the charts use cases need from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sono.domain.charts import MonthlyListeners, Song, StreamedArtist


@dataclass(frozen=True, slots=True)
class ArtistCandidates:
    """The rows of each chart among which ``best_matches`` picks an artist search's results."""

    top_streamed: Sequence[StreamedArtist]
    monthly_listeners: Sequence[MonthlyListeners]
    top_songs: Sequence[Song]


class ChartsReader(Protocol):
    """The charts database, read only. Every method raises ``ServiceUnavailable`` (naming the
    charts database) when it cannot be reached or holds no charts, within a few seconds."""

    async def top_streamed_artists(self, *, limit: int, offset: int) -> list[StreamedArtist]:
        """A page of the chart, by rank."""

    async def monthly_listeners(self, *, limit: int, offset: int) -> list[MonthlyListeners]:
        """A page of the chart, by rank."""

    async def top_songs(self, *, limit: int, offset: int) -> list[Song]:
        """A page of the chart, by rank."""

    async def find_artist(self, name: str, *, limit: int) -> ArtistCandidates:
        """For each chart, rows whose artist matches ``name`` (``is_match``), including at least
        the first ``limit`` by rank of those whose artist equals it ignoring case and the first
        ``limit`` by rank of all of them (every match is a valid answer too). ``name`` is taken
        literally: ``%`` and ``_`` are no wildcards."""


@dataclass(frozen=True, slots=True)
class ChartSnapshot:
    """The three charts as read at ``scraped_at`` (their rows' own ``scraped_at`` is ignored)."""

    scraped_at: datetime
    top_streamed: Sequence[StreamedArtist]
    monthly_listeners: Sequence[MonthlyListeners]
    top_songs: Sequence[Song]


class ChartsWriter(Protocol):
    async def replace(self, snapshot: ChartSnapshot) -> None:
        """Create Sono's charts schema if needed and replace every chart by ``snapshot`` in one
        transaction: readers see the previous snapshot or the new one, never a mix or nothing."""


class ChartPageSource(Protocol):
    async def read(self, location: str) -> str:
        """The text of the page at ``location`` (an http(s) URL or a file path). Raises
        ``ChartImportFailed`` saying why it could not be read."""


class ChartPageParser(Protocol):
    """Reads the chart table of a Kworb page, finding its columns by their header text. Each method
    raises ``ChartImportFailed`` naming what is wrong (no such table, a required column missing,
    a row without an artist, a number that is not one). Rows carry no ``scraped_at``."""

    def top_streamed_artists(self, html: str) -> list[StreamedArtist]: ...
    def monthly_listeners(self, html: str) -> list[MonthlyListeners]: ...
    def top_songs(self, html: str) -> list[Song]: ...
