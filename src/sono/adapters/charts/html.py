"""The ``ChartPageParser`` port for Kworb's pages, with the standard library's ``html.parser``
(Kworb's pages are plain tables: no extra dependency is worth it).

A page's chart is the first table whose header row names the chart's required columns; every
column is found by its header text (case and spacing ignored, a few spellings accepted), so a
changed column order or an extra column does not matter. The rank is the "#"/"Pos"/"Rank" column
when there is one, else the row's position (Kworb numbers some tables in the browser only).
Numbers may carry thousands separators; an empty or missing cell is null; a row without an artist,
a number that is not one, or a page without the table is refused with a message saying which."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from html.parser import HTMLParser
from typing import TypeVar

from sono.domain.charts import (
    ChartImportFailed,
    MonthlyListeners,
    Song,
    StreamedArtist,
    parse_count,
    split_artist_and_title,
)

T = TypeVar("T")

RANK = ("#", "pos", "pos.", "rank", "position", "no.")
ARTIST = ("artist",)
STREAMS = ("streams", "total streams")
DAILY = ("daily", "daily streams")
AS_LEAD = ("as lead", "lead")
SOLO = ("solo",)
AS_FEATURE = ("as feature", "as feat.", "feature", "feat.")
LISTENERS = ("listeners", "monthly listeners")
PEAK_LISTENERS = ("pklisteners", "pk listeners", "peak listeners")
PEAK_DATE = ("pkdate", "pk date", "peak date")
ARTIST_AND_TITLE = ("artist and title", "artist - title")
TITLE = ("title", "song", "track")


@dataclass
class _Cell:
    header: bool
    text: list[str] = field(default_factory=list)


@dataclass
class _Table:
    rows: list[list[_Cell]] = field(default_factory=list)


class _TableCollector(HTMLParser):
    """Every table of a page as rows of cell texts (whitespace collapsed, entities decoded), nested
    tables included; end tags HTML lets one leave out are implied."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[_Table] = []
        self._open: list[_Table] = []
        self._outer: list[tuple[list[_Cell] | None, _Cell | None]] = []  # the row and cell around each open table
        self._row: list[_Cell] | None = None
        self._cell: _Cell | None = None
        self._ignored = 0  # inside <script> or <style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._ignored += 1
        elif tag == "table":
            self._outer.append((self._row, self._cell))
            self._open.append(_Table())
            self._row = self._cell = None
        elif not self._open:
            return
        elif tag == "tr":
            self._start_row()
        elif tag in ("td", "th"):
            if self._row is None:
                self._start_row()
            self._cell = _Cell(header=tag == "th")
            assert self._row is not None
            self._row.append(self._cell)
        elif tag == "br" and self._cell is not None:
            self._cell.text.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._ignored = max(0, self._ignored - 1)
        elif tag == "table" and self._open:
            self._end_row()
            self.tables.append(self._open.pop())
            self._row, self._cell = self._outer.pop()
        elif tag in ("td", "th"):
            self._cell = None
        elif tag == "tr":
            self._end_row()

    def handle_data(self, data: str) -> None:
        if self._cell is not None and not self._ignored:
            self._cell.text.append(data)

    def _start_row(self) -> None:
        self._end_row()
        self._row = []

    def _end_row(self) -> None:
        if self._row and self._open:
            self._open[-1].rows.append(self._row)
        self._row = self._cell = None


def _text(cell: _Cell) -> str:
    return " ".join("".join(cell.text).split())


def _header_key(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class _Grid:
    """A chart table: its header texts and its data rows, by column index."""

    headers: list[str]
    rows: list[list[str]]

    def index(self, names: Sequence[str]) -> int | None:
        keys = [_header_key(header) for header in self.headers]
        for name in names:
            if name in keys:
                return keys.index(name)
        return None


def _tables(html: str) -> list[_Grid]:
    collector = _TableCollector()
    collector.feed(html)
    collector.close()
    grids = []
    for table in collector.tables:
        if not table.rows:
            continue
        header_at = next((i for i, row in enumerate(table.rows) if all(cell.header for cell in row)), 0)
        headers = [_text(cell) for cell in table.rows[header_at]]
        rows = [
            [_text(cell) for cell in row] for row in table.rows[header_at + 1 :] if not all(cell.header for cell in row)
        ]
        grids.append(_Grid(headers, [row for row in rows if any(row)]))
    return grids


def _find_table(grids: list[_Grid], required: Sequence[Sequence[str]], what: str) -> _Grid:
    for grid in grids:
        if all(grid.index(names) is not None for names in required):
            return grid
    wanted = ", ".join(repr(names[0].capitalize()) for names in required)
    seen = "; ".join(", ".join(grid.headers) for grid in grids[:3]) or "no tables"
    raise ChartImportFailed(f"no {what} table with the columns {wanted} (found: {seen})")


class _Reader:
    """Reads the cells of one chart table's rows, with messages naming the row and column."""

    def __init__(self, grid: _Grid) -> None:
        self.grid = grid

    def rows(self, make: Callable[[Callable[[int | None], str], int], T]) -> list[T]:
        result = []
        for number, row in enumerate(self.grid.rows, start=1):

            def cell(index: int | None, row: list[str] = row) -> str:
                return row[index] if index is not None and index < len(row) else ""

            result.append(make(cell, number))
        if not result:
            raise ChartImportFailed("the chart table has no rows")
        return result

    def count(self, cell: Callable[[int | None], str], index: int | None, number: int) -> int | None:
        try:
            return parse_count(cell(index))
        except ValueError:
            assert index is not None
            raise ChartImportFailed(
                f"row {number}: {self.grid.headers[index]!r} is {cell(index)!r}, not a number"
            ) from None

    def rank(self, cell: Callable[[int | None], str], index: int | None, number: int) -> int:
        if index is None:
            return number
        rank = self.count(cell, index, number)
        if rank is None:
            raise ChartImportFailed(f"row {number} has no rank")
        return rank

    @staticmethod
    def text(cell: Callable[[int | None], str], index: int | None, number: int, what: str) -> str:
        value = cell(index)
        if not value:
            raise ChartImportFailed(f"row {number} has no {what}")
        return value


def _peak_date(text: str, number: int) -> date | None:
    if not text or text in ("-", "\u2014"):
        return None
    for layout in ("%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, layout).date()
        except ValueError:
            continue
    raise ChartImportFailed(f"row {number}: peak date {text!r} is not a date")


class KworbPageParser:
    """The ``ChartPageParser`` port for kworb.net/spotify/artists.html, listeners.html and
    songs.html (and pages shaped like them)."""

    def top_streamed_artists(self, html: str) -> list[StreamedArtist]:
        grid = _find_table(_tables(html), [ARTIST, STREAMS], "most streamed artists")
        read = _Reader(grid)
        rank, artist, streams, daily = grid.index(RANK), grid.index(ARTIST), grid.index(STREAMS), grid.index(DAILY)
        as_lead, solo, as_feature = grid.index(AS_LEAD), grid.index(SOLO), grid.index(AS_FEATURE)
        return read.rows(
            lambda cell, n: StreamedArtist(
                rank=read.rank(cell, rank, n),
                artist=read.text(cell, artist, n, "artist"),
                streams=read.count(cell, streams, n),
                daily=read.count(cell, daily, n),
                as_lead=read.count(cell, as_lead, n),
                solo=read.count(cell, solo, n),
                as_feature=read.count(cell, as_feature, n),
            )
        )

    def monthly_listeners(self, html: str) -> list[MonthlyListeners]:
        grid = _find_table(_tables(html), [ARTIST, LISTENERS], "monthly listeners")
        read = _Reader(grid)
        rank, artist, listeners = grid.index(RANK), grid.index(ARTIST), grid.index(LISTENERS)
        peak, peak_date = grid.index(PEAK_LISTENERS), grid.index(PEAK_DATE)
        return read.rows(
            lambda cell, n: MonthlyListeners(
                rank=read.rank(cell, rank, n),
                artist=read.text(cell, artist, n, "artist"),
                listeners=read.count(cell, listeners, n),
                peak=read.count(cell, peak, n),
                peak_date=_peak_date(cell(peak_date), n),
            )
        )

    def top_songs(self, html: str) -> list[Song]:
        grids = _tables(html)
        combined = any(grid.index(ARTIST_AND_TITLE) is not None for grid in grids)
        required = [ARTIST_AND_TITLE, STREAMS] if combined else [ARTIST, TITLE, STREAMS]
        grid = _find_table(grids, required, "most streamed songs")
        read = _Reader(grid)
        rank, streams, daily = grid.index(RANK), grid.index(STREAMS), grid.index(DAILY)
        both, artist, title = grid.index(ARTIST_AND_TITLE), grid.index(ARTIST), grid.index(TITLE)

        def song(cell: Callable[[int | None], str], n: int) -> Song:
            if both is not None:
                song_artist, song_title = split_artist_and_title(read.text(cell, both, n, "artist and title"))
            else:
                song_artist, song_title = cell(artist), cell(title)
            if not song_title:
                raise ChartImportFailed(f"row {n} has no title")
            return Song(
                rank=read.rank(cell, rank, n),
                title=song_title,
                artist=song_artist,
                streams=read.count(cell, streams, n),
                daily=read.count(cell, daily, n),
            )

        return read.rows(song)
