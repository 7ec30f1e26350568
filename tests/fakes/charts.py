"""Fakes of the charts ports for unit tests: a charts database in memory (reader and writer) and
pages served from a dictionary."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import TypeVar

from sono.application.charts.ports import ArtistCandidates, ChartSnapshot
from sono.domain.charts import ChartImportFailed, MonthlyListeners, Ranked, Song, StreamedArtist, is_match
from sono.domain.errors import ServiceUnavailable

R = TypeVar("R", bound=Ranked)

UNAVAILABLE = "Kworb charts database unavailable"


class InMemoryCharts:
    """The ``ChartsReader`` and ``ChartsWriter`` ports. ``available = False`` makes every call
    raise ``ServiceUnavailable`` as an unreachable database would. ``find_artist`` answers every
    match (which the port allows)."""

    def __init__(
        self,
        top_streamed: Iterable[StreamedArtist] = (),
        monthly_listeners: Iterable[MonthlyListeners] = (),
        top_songs: Iterable[Song] = (),
    ) -> None:
        self.streamed_rows = sorted(top_streamed, key=lambda row: row.rank)
        self.listeners_rows = sorted(monthly_listeners, key=lambda row: row.rank)
        self.songs_rows = sorted(top_songs, key=lambda row: row.rank)
        self.available = True
        self.replaced = 0

    def _check(self) -> None:
        if not self.available:
            raise ServiceUnavailable(UNAVAILABLE)

    async def top_streamed_artists(self, *, limit: int, offset: int) -> list[StreamedArtist]:
        self._check()
        return self.streamed_rows[offset : offset + limit]

    async def monthly_listeners(self, *, limit: int, offset: int) -> list[MonthlyListeners]:
        self._check()
        return self.listeners_rows[offset : offset + limit]

    async def top_songs(self, *, limit: int, offset: int) -> list[Song]:
        self._check()
        return self.songs_rows[offset : offset + limit]

    async def find_artist(self, name: str, *, limit: int) -> ArtistCandidates:
        self._check()
        return ArtistCandidates(
            top_streamed=_matches(self.streamed_rows, name),
            monthly_listeners=_matches(self.listeners_rows, name),
            top_songs=_matches(self.songs_rows, name),
        )

    async def replace(self, snapshot: ChartSnapshot) -> None:
        self._check()
        at = snapshot.scraped_at
        self.streamed_rows = sorted((dataclasses.replace(r, scraped_at=at) for r in snapshot.top_streamed), key=_rank)
        self.listeners_rows = sorted(
            (dataclasses.replace(r, scraped_at=at) for r in snapshot.monthly_listeners), key=_rank
        )
        self.songs_rows = sorted((dataclasses.replace(r, scraped_at=at) for r in snapshot.top_songs), key=_rank)
        self.replaced += 1


def _rank(row: Ranked) -> int:
    return row.rank


def _matches(rows: Iterable[R], name: str) -> list[R]:
    return [row for row in rows if is_match(row.artist, name)]


class FakePageSource:
    """Pages by location; an unknown location cannot be read."""

    def __init__(self, pages: Mapping[str, str]) -> None:
        self.pages = dict(pages)
        self.read_from: list[str] = []

    async def read(self, location: str) -> str:
        self.read_from.append(location)
        if location not in self.pages:
            raise ChartImportFailed(f"{location}: cannot read the file (No such file or directory)")
        return self.pages[location]
