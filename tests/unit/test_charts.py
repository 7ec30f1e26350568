"""The charts: domain rules, ``ChartsService`` and ``ChartImporter`` on in-memory fakes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sono.adapters.charts.html import KworbPageParser
from sono.application.charts import NOT_CONFIGURED, ChartImporter, ChartSnapshot, ChartSources, ChartsService
from sono.domain.charts import (
    ChartImportFailed,
    MonthlyListeners,
    Song,
    StreamedArtist,
    best_matches,
    parse_count,
    split_artist_and_title,
)
from sono.domain.errors import FieldError, ServiceUnavailable, ValidationFailed
from tests.fakes.charts import FakePageSource, InMemoryCharts

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def artist(rank: int, name: str) -> StreamedArtist:
    return StreamedArtist(rank, name, streams=1000 - rank)


# --------------------------------------------------------------------------- domain


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234, 1234),
        ("1,234,567", 1_234_567),
        ("1 234 567", 1_234_567),
        ("1\u00a0234", 1234),
        ("1.234.567", 1_234_567),
        ("+1,000", 1000),
        ("-45,000", -45_000),
        ("1234567.0", 1_234_567),
        (1234567.0, 1_234_567),
        (Decimal("12.6"), 13),
        (b"42", 42),
        (None, None),
        ("", None),
        ("  ", None),
        ("-", None),
        ("N/A", None),
        (float("nan"), None),
    ],
)
def test_parse_count_reads_chart_numbers(value: object, expected: int | None) -> None:
    assert parse_count(value) == expected


@pytest.mark.parametrize("value", ["lots", "12abc", "1,2,3x", True, object()])
def test_parse_count_refuses_what_is_not_a_number(value: object) -> None:
    with pytest.raises(ValueError, match="not a number"):
        parse_count(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Weeknd - Blinding Lights", ("The Weeknd", "Blinding Lights")),
        ("Drake & Rihanna - Too Good - Remix", ("Drake & Rihanna", "Too Good - Remix")),
        ("Jay-Z - 99 Problems", ("Jay-Z", "99 Problems")),
        ("Untitled", ("", "Untitled")),
        ("  Spaced  -  Out  ", ("Spaced", "Out")),
    ],
)
def test_songs_split_at_the_first_spaced_dash(text: str, expected: tuple[str, str]) -> None:
    assert split_artist_and_title(text) == expected


def test_best_matches_puts_exact_names_first_then_ranks() -> None:
    rows = [artist(1, "Drakeo"), artist(9, "DRAKE"), artist(3, "Drake Bell"), artist(2, "drake")]

    assert [(row.rank, row.artist) for row in best_matches("Drake", rows)] == [
        (2, "drake"),
        (9, "DRAKE"),
        (1, "Drakeo"),
        (3, "Drake Bell"),
    ]


def test_best_matches_drops_candidates_that_do_not_match() -> None:
    rows = [artist(1, "Drake"), artist(2, "Drakkar"), artist(3, "Sir Drake")]

    assert [row.rank for row in best_matches("drake", rows)] == [1, 3]


def test_best_matches_keeps_ten_and_each_row_once() -> None:
    rows = [artist(rank, f"Band {rank}") for rank in range(20, 0, -1)]

    found = best_matches("band", rows + rows)

    assert [row.rank for row in found] == list(range(1, 11))


# --------------------------------------------------------------------------- the service


@pytest.fixture
def store() -> InMemoryCharts:
    return InMemoryCharts(
        top_streamed=[artist(1, "Taylor Swift"), artist(2, "Drakeo the Ruler"), artist(4, "Drake"), artist(3, "AC/DC")],
        monthly_listeners=[MonthlyListeners(1, "The Weeknd", 100), MonthlyListeners(2, "drake", 90)],
        top_songs=[
            Song(1, "One Dance", "Drake", 10),
            Song(2, "Drake's Song", "Rihanna", 9),
            Song(3, "100%", "100% Pure"),
        ],
    )


@pytest.fixture
def charts(store: InMemoryCharts) -> ChartsService:
    return ChartsService(store)


async def test_pages_are_in_rank_order(charts: ChartsService) -> None:
    assert [row.rank for row in await charts.top_streamed_artists()] == [1, 2, 3, 4]
    assert [row.rank for row in await charts.top_streamed_artists(limit=2, offset=1)] == [2, 3]
    assert await charts.top_songs(limit=1000, offset=2**80) == []


async def test_search_exact_first_and_songs_by_artist(charts: ChartsService) -> None:
    found = await charts.search("DRAKE")

    assert [row.artist for row in found.top_streamed] == ["Drake", "Drakeo the Ruler"]
    assert [row.artist for row in found.monthly_listeners] == ["drake"]
    assert [(row.artist, row.title) for row in found.top_songs] == [("Drake", "One Dance")]


async def test_search_takes_wildcards_literally(charts: ChartsService) -> None:
    assert [row.artist for row in (await charts.search("0%")).top_songs] == ["100% Pure"]
    assert (await charts.search("_")).top_streamed == []


@pytest.mark.parametrize(
    ("limit", "offset", "errors"),
    [
        (0, 0, [FieldError("limit", "Limit must be between 1 and 1000")]),
        (1001, 0, [FieldError("limit", "Limit must be between 1 and 1000")]),
        (10, -1, [FieldError("offset", "Offset must be at least 0")]),
        (
            -5,
            -1,
            [
                FieldError("limit", "Limit must be between 1 and 1000"),
                FieldError("offset", "Offset must be at least 0"),
            ],
        ),
    ],
)
async def test_pages_refuse_limits_out_of_range(
    charts: ChartsService, limit: int, offset: int, errors: list[FieldError]
) -> None:
    for read in (charts.top_streamed_artists, charts.monthly_listeners, charts.top_songs):
        with pytest.raises(ValidationFailed) as raised:
            await read(limit, offset)
        assert raised.value.errors == errors


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Artist name must not be empty"),
        ("x" * 101, "Artist name must be at most 100 characters"),
        ("Dr\x00ake", "Artist name must not contain NUL characters"),
    ],
)
async def test_search_refuses_bad_names(charts: ChartsService, name: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        await charts.search(name)

    assert raised.value.errors == [FieldError("artist_name", message)]


async def test_a_hundred_characters_is_a_valid_name(charts: ChartsService) -> None:
    found = await charts.search("é" * 100)

    assert (found.top_streamed, found.monthly_listeners, found.top_songs) == ([], [], [])


async def test_without_a_reader_every_read_is_unavailable() -> None:
    charts = ChartsService(None)

    assert not charts.configured
    for read in (charts.top_streamed_artists(), charts.monthly_listeners(), charts.top_songs(), charts.search("x")):
        with pytest.raises(ServiceUnavailable) as raised:
            await read
        assert raised.value.detail == NOT_CONFIGURED == "Kworb database not configured"


async def test_an_unavailable_reader_is_unavailable(store: InMemoryCharts, charts: ChartsService) -> None:
    store.available = False

    with pytest.raises(ServiceUnavailable, match="Kworb charts database"):
        await charts.search("Drake")


# --------------------------------------------------------------------------- the importer

ARTISTS_PAGE = """<table><tr><th>Artist</th><th>Streams</th><th>Daily</th></tr>
<tr><td>Drake</td><td>1,000</td><td>10</td></tr><tr><td>AC/DC</td><td>900</td><td></td></tr></table>"""
LISTENERS_PAGE = """<table><tr><th>#</th><th>Artist</th><th>Listeners</th><th>Peak</th><th>PkListeners</th></tr>
<tr><td>1</td><td>The Weeknd</td><td>100</td><td>1</td><td>120</td></tr></table>"""
SONGS_PAGE = """<table><tr><th>Artist and Title</th><th>Streams</th></tr>
<tr><td>Drake - One Dance</td><td>5</td></tr></table>"""
SOURCES = ChartSources("artists.html", "listeners.html", "songs.html")


def importer(store: InMemoryCharts, **pages: str) -> ChartImporter:
    source = FakePageSource(
        {"artists.html": ARTISTS_PAGE, "listeners.html": LISTENERS_PAGE, "songs.html": SONGS_PAGE} | pages
    )
    return ChartImporter(source, KworbPageParser(), store, lambda: NOW)


async def test_an_import_replaces_every_chart_stamped_with_its_time() -> None:
    store = InMemoryCharts(top_streamed=[artist(1, "Old")])

    report = await importer(store).run(SOURCES)

    assert (report.scraped_at, report.top_streamed, report.monthly_listeners, report.top_songs) == (NOW, 2, 1, 1)
    assert store.streamed_rows == [
        StreamedArtist(1, "Drake", 1000, 10, scraped_at=NOW),
        StreamedArtist(2, "AC/DC", 900, None, scraped_at=NOW),
    ]
    assert store.listeners_rows == [MonthlyListeners(1, "The Weeknd", 100, 120, scraped_at=NOW)]
    assert store.songs_rows == [Song(1, "One Dance", "Drake", 5, scraped_at=NOW)]


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        ({"songs.html": "<p>Service unavailable</p>"}, "songs.html: no most streamed songs table"),
        ({"artists.html": ARTISTS_PAGE.replace("900", "many")}, "artists.html: row 2: 'Streams' is 'many'"),
        ({"artists.html": ARTISTS_PAGE.replace("AC/DC", "")}, "artists.html: row 2 has no artist"),
        ({"listeners.html": LISTENERS_PAGE.replace("<td>1</td><td>The", "<td></td><td>The")}, "row 1 has no rank"),
        (
            {"listeners.html": LISTENERS_PAGE.replace("</table>", "<tr><td>1</td><td>X</td></tr></table>")},
            "listeners.html: rank 1 appears twice",
        ),
        ({"artists.html": "<table><tr><th>Artist</th><th>Streams</th></tr></table>"}, "has no rows"),
    ],
)
async def test_a_malformed_page_stores_nothing(pages: dict[str, str], message: str) -> None:
    store = InMemoryCharts(top_streamed=[artist(1, "Old")])

    with pytest.raises(ChartImportFailed, match=re.escape(message)):
        await importer(store, **pages).run(SOURCES)

    assert store.replaced == 0
    assert [row.artist for row in store.streamed_rows] == ["Old"]


async def test_an_unreadable_page_stores_nothing() -> None:
    store = InMemoryCharts()

    with pytest.raises(ChartImportFailed, match=re.escape("missing.html: cannot read")):
        await importer(store).run(ChartSources("artists.html", "missing.html", "songs.html"))

    assert store.replaced == 0


async def test_the_fake_stamps_snapshots_like_the_database() -> None:
    store = InMemoryCharts()

    await store.replace(ChartSnapshot(NOW, [artist(2, "B"), artist(1, "A")], [], []))

    assert [(row.rank, row.scraped_at) for row in await store.top_streamed_artists(limit=10, offset=0)] == [
        (1, NOW),
        (2, NOW),
    ]
