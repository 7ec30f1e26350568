"""Importing Kworb's pages: the HTML parser on pages shaped like kworb.net's, pages read from files
and from a loopback HTTP server, and whole imports into SQLite and PostgreSQL (Sono's schema
created, the previous snapshot replaced at once, or kept when a page is malformed)."""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import date
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import text

from sono.adapters.charts import charts_importer
from sono.adapters.charts.engines import writer_engine
from sono.adapters.charts.html import KworbPageParser
from sono.adapters.charts.pages import UrlOrFilePageSource
from sono.adapters.charts.reader import SqlChartsReader
from sono.adapters.charts.writer import SqlChartsWriter
from sono.application.charts import ChartSnapshot, ChartSources, ChartsService
from sono.domain.charts import ChartImportFailed, MonthlyListeners, Song, StreamedArtist
from tests.fixtures.kworb import PAGES, SCRAPED_AT, page, write_scraper_tables

parser = KworbPageParser()
SOURCES = ChartSources(page("artists.html"), page("listeners.html"), page("songs.html"))


def read(name: str) -> str:
    return (PAGES / name).read_text()


# --------------------------------------------------------------------------- parser


def test_artists_page_without_a_rank_column_is_ranked_by_position() -> None:
    rows = parser.top_streamed_artists(read("artists.html"))

    assert [(row.rank, row.artist) for row in rows] == [
        (1, "Taylor Swift"),
        (2, "Drake"),
        (3, "The Weeknd"),
        (4, "AC/DC"),
        (5, "Beyoncé"),
    ]
    assert rows[0] == StreamedArtist(
        1, "Taylor Swift", 113_212_345_678, 98_765_432, 105_000_000_000, 95_000_000_000, 8_212_345_678
    )
    assert rows[3].daily is None  # an empty cell


def test_listeners_page_takes_its_ranks_and_peak_listeners() -> None:
    rows = parser.monthly_listeners(read("listeners.html"))

    assert rows[0] == MonthlyListeners(1, "The Weeknd", 120_345_678, peak=125_000_000, peak_date=None)
    assert [row.rank for row in rows] == [1, 2, 3, 4]


def test_songs_page_splits_artist_and_title() -> None:
    rows = parser.top_songs(read("songs.html"))

    assert rows[2] == Song(3, "One Dance (feat. Wizkid & Kyla)", "Drake", 3_500_000_000, None)
    assert rows[3] == Song(4, "Untitled Interlude", "", 1_000_000, 10)


def test_columns_are_found_by_their_headers_whatever_the_order_and_missing_cells_are_null() -> None:
    rows = parser.top_streamed_artists(read("artists_reordered.html"))

    assert rows == [
        StreamedArtist(1, "Taylor Swift", 113_212_345_678, 98_765_432, 105_000_000_000, None, 8_212_345_678),
        StreamedArtist(2, "Drake", 98_765_432_100, 45_678_901, None, None, 8_765_432_100),
        StreamedArtist(3, "The Weeknd", 80_000_000_000, None, None, None, None),
    ]


def test_separate_artist_and_title_columns_and_peak_dates_are_read_too() -> None:
    songs = parser.top_songs(
        "<table><tr><th>Rank</th><th>Title</th><th>Artist</th><th>Streams</th></tr>"
        "<tr><td>7</td><td>Halo</td><td>Beyoncé</td><td>1.234.567</td></tr></table>"
    )
    listeners = parser.monthly_listeners(
        "<table><tr><th>Artist</th><th>Listeners</th><th>Peak date</th></tr>"
        "<tr><td>X</td><td>10</td><td>2024-12-15</td></tr></table>"
    )

    assert songs == [Song(7, "Halo", "Beyoncé", 1_234_567)]
    assert listeners == [MonthlyListeners(1, "X", 10, None, date(2024, 12, 15))]


@pytest.mark.parametrize(
    ("method", "name", "message"),
    [
        (
            "top_streamed_artists",
            "not_a_chart.html",
            "no most streamed artists table with the columns 'Artist', 'Streams'",
        ),
        ("top_streamed_artists", "bad_number.html", "row 2: 'Streams' is 'lots', not a number"),
        ("monthly_listeners", "songs.html", "no monthly listeners table with the columns 'Artist', 'Listeners'"),
        ("top_songs", "artists.html", "no most streamed songs table"),
    ],
)
def test_pages_that_are_not_the_chart_are_refused_saying_why(method: str, name: str, message: str) -> None:
    with pytest.raises(ChartImportFailed, match=re.escape(message)):
        getattr(parser, method)(read(name))


# --------------------------------------------------------------------------- page source


@pytest.fixture
def pages_server() -> Iterator[str]:
    """The fixture pages over HTTP on loopback."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(PAGES)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_pages_are_read_from_urls_and_files(pages_server: str, tmp_path: Path) -> None:
    source = UrlOrFilePageSource(timeout=5)

    assert await source.read(f"{pages_server}/songs.html") == read("songs.html")
    assert await source.read(page("songs.html")) == read("songs.html")
    assert await source.read(Path(page("songs.html")).as_uri()) == read("songs.html")
    spaced = tmp_path / "a page.html"
    spaced.write_text("<table></table>")
    assert await source.read(spaced.as_uri()) == "<table></table>"


async def test_unreadable_pages_are_refused_saying_why(pages_server: str, closed_port: int) -> None:
    source = UrlOrFilePageSource(timeout=5)

    with pytest.raises(ChartImportFailed, match="HTTP 404"):
        await source.read(f"{pages_server}/missing.html")
    with pytest.raises(ChartImportFailed, match="cannot fetch the page"):
        await source.read(f"http://127.0.0.1:{closed_port}/artists.html")
    with pytest.raises(ChartImportFailed, match="cannot read the file"):
        await source.read(page("missing.html"))
    with pytest.raises(ChartImportFailed, match="larger than"):
        await UrlOrFilePageSource(max_bytes=10).read(page("songs.html"))


# --------------------------------------------------------------------------- whole imports


@pytest.fixture
async def charts_reading(empty_url: str) -> AsyncIterator[ChartsService]:
    """The charts of ``empty_url`` as the API reads them (once something was imported)."""
    reader = SqlChartsReader.from_url(empty_url)
    try:
        yield ChartsService(reader)
    finally:
        await reader.aclose()


async def run_import(url: str, sources: ChartSources = SOURCES) -> None:
    async with charts_importer(url) as importer:
        await importer.run(sources)


async def everything(charts: ChartsService) -> tuple[list, list, list]:
    return (
        await charts.top_streamed_artists(limit=1000),
        await charts.monthly_listeners(limit=1000),
        await charts.top_songs(limit=1000),
    )


async def test_an_import_creates_sonos_schema_and_stores_the_pages(
    empty_url: str, charts_reading: ChartsService
) -> None:
    await run_import(empty_url)

    streamed, listeners, songs = await everything(charts_reading)
    assert [(row.rank, row.artist, row.streams) for row in streamed] == [
        (row.rank, row.artist, row.streams) for row in parser.top_streamed_artists(read("artists.html"))
    ]
    assert (listeners[0].rank, listeners[0].artist, listeners[0].peak) == (1, "The Weeknd", 125_000_000)
    assert [(row.artist, row.title) for row in songs][:2] == [
        ("The Weeknd", "Blinding Lights"),
        ("Ed Sheeran", "Shape of You"),
    ]
    stamps = {row.scraped_at for row in [*streamed, *listeners, *songs]}
    assert len(stamps) == 1 and None not in stamps
    assert [row.artist for row in (await charts_reading.search("drake")).monthly_listeners] == ["Drake"]


async def test_an_import_replaces_the_previous_snapshot(empty_url: str, charts_reading: ChartsService) -> None:
    await run_import(empty_url)

    await run_import(
        empty_url, ChartSources(page("artists_reordered.html"), page("listeners.html"), page("songs.html"))
    )

    streamed, _, _ = await everything(charts_reading)
    assert [row.artist for row in streamed] == ["Taylor Swift", "Drake", "The Weeknd"]


@pytest.mark.parametrize("malformed", ["not_a_chart.html", "bad_number.html"])
async def test_a_malformed_page_leaves_the_previous_snapshot_intact(
    empty_url: str, charts_reading: ChartsService, malformed: str
) -> None:
    await run_import(empty_url)
    before = await everything(charts_reading)

    with pytest.raises(ChartImportFailed, match=re.escape(malformed)):
        await run_import(empty_url, ChartSources(page("artists.html"), page("listeners.html"), page(malformed)))

    assert await everything(charts_reading) == before


async def test_a_failed_write_leaves_the_previous_snapshot_intact(
    empty_url: str, charts_reading: ChartsService
) -> None:
    await run_import(empty_url)
    before = await everything(charts_reading)
    duplicate_rank = [Song(1, "A"), Song(1, "B")]  # the importer refuses this itself
    writer = SqlChartsWriter.from_url(empty_url)

    try:
        with pytest.raises(ChartImportFailed, match="cannot write the charts database"):
            await writer.replace(ChartSnapshot(SCRAPED_AT, [StreamedArtist(9, "New")], [], duplicate_rank))
    finally:
        await writer.aclose()

    assert await everything(charts_reading) == before


async def test_an_import_beside_the_scrapers_tables_takes_over(empty_url: str) -> None:
    engine = writer_engine(empty_url)
    async with engine.begin() as connection:
        await write_scraper_tables(connection)
    await engine.dispose()

    await run_import(empty_url)

    reader = SqlChartsReader.from_url(empty_url)
    try:
        streamed = await ChartsService(reader).top_streamed_artists(limit=1000)
    finally:
        await reader.aclose()
    assert [row.artist for row in streamed] == ["Taylor Swift", "Drake", "The Weeknd", "AC/DC", "Beyoncé"]
    assert streamed[0].scraped_at is not None


async def test_the_schema_has_indexes_for_exact_names_and_for_parts_of_names(empty_url: str) -> None:
    await run_import(empty_url)
    engine = writer_engine(empty_url)
    try:
        async with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                plan = await connection.execute(
                    text("EXPLAIN QUERY PLAN SELECT rank FROM kworb_monthly_listeners WHERE artist_key = 'drake'")
                )
                assert "ix_kworb_monthly_listeners_artist_key" in " ".join(str(row) for row in plan)
                found = await connection.execute(
                    text("SELECT rowid FROM kworb_monthly_listeners_search WHERE artist_key MATCH :phrase"),
                    {"phrase": '"rake"'},
                )
                assert list(found.scalars()) == [4]
            else:
                found = await connection.execute(
                    text("SELECT indexname FROM pg_indexes WHERE tablename = 'kworb_monthly_listeners'")
                )
                assert {
                    "ix_kworb_monthly_listeners_artist_key",
                    "ix_kworb_monthly_listeners_artist_key_trigram",
                } <= set(found.scalars())
    finally:
        await engine.dispose()
