"""Importing Kworb's chart pages into Sono's charts schema: all three charts are read and checked
first, then replace the stored ones in one transaction, so a page that cannot be read or is
malformed leaves the previous snapshot intact."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sono.application.charts.ports import ChartPageParser, ChartPageSource, ChartSnapshot, ChartsWriter
from sono.domain.charts import ChartImportFailed, Ranked

T = TypeVar("T", bound=Ranked)

KWORB_PAGES = {
    "top_streamed": "https://kworb.net/spotify/artists.html",
    "monthly_listeners": "https://kworb.net/spotify/listeners.html",
    "top_songs": "https://kworb.net/spotify/songs.html",
}


@dataclass(frozen=True, slots=True)
class ChartSources:
    """Where each chart's page is read from: an http(s) URL or a file path."""

    top_streamed: str = KWORB_PAGES["top_streamed"]
    monthly_listeners: str = KWORB_PAGES["monthly_listeners"]
    top_songs: str = KWORB_PAGES["top_songs"]


@dataclass(frozen=True, slots=True)
class ImportReport:
    scraped_at: datetime
    top_streamed: int
    monthly_listeners: int
    top_songs: int


class ChartImporter:
    def __init__(
        self,
        source: ChartPageSource,
        parser: ChartPageParser,
        writer: ChartsWriter,
        now: Callable[[], datetime],
    ) -> None:
        self._source = source
        self._parser = parser
        self._writer = writer
        self._now = now

    async def run(self, sources: ChartSources) -> ImportReport:
        """Read, check and store the three charts, stamped with the time they were read. Raises
        ``ChartImportFailed`` (naming the page) without storing anything when a page cannot be
        read or parsed."""
        pages = await asyncio.gather(
            self._source.read(sources.top_streamed),
            self._source.read(sources.monthly_listeners),
            self._source.read(sources.top_songs),
        )
        scraped_at = self._now()
        streamed = _parsed(sources.top_streamed, self._parser.top_streamed_artists, pages[0])
        listeners = _parsed(sources.monthly_listeners, self._parser.monthly_listeners, pages[1])
        songs = _parsed(sources.top_songs, self._parser.top_songs, pages[2])
        await self._writer.replace(ChartSnapshot(scraped_at, streamed, listeners, songs))
        return ImportReport(scraped_at, len(streamed), len(listeners), len(songs))


def _parsed(location: str, parse: Callable[[str], list[T]], html: str) -> list[T]:
    try:
        rows = parse(html)
        _check_ranks(rows)
    except ChartImportFailed as exc:
        raise ChartImportFailed(f"{location}: {exc.detail}") from exc
    return rows


def _check_ranks(rows: Sequence[Ranked]) -> None:
    if not rows:
        raise ChartImportFailed("the chart has no rows")
    seen: set[int] = set()
    for row in rows:
        if row.rank < 1:
            raise ChartImportFailed(f"rank {row.rank} of {row.artist!r} is not a position")
        if row.rank in seen:
            raise ChartImportFailed(f"rank {row.rank} appears twice")
        seen.add(row.rank)
