"""The SQL charts reader on SQLite and PostgreSQL, in Sono's schema and in the scraper's layout
(the same rows in both: see ``tests.fixtures.kworb``), through the service as the API uses it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from sono.adapters.charts import build_charts
from sono.adapters.charts.engines import reader_engine, writer_engine
from sono.adapters.charts.reader import NO_CHARTS, UNAVAILABLE, SqlChartsReader
from sono.application.charts import ChartsService
from sono.config import load_settings
from sono.domain.errors import ServiceUnavailable
from tests.fixtures.kworb import LISTENERS, SONGS, STREAMED, stamped, write_charts
from tests.integration.charts.conftest import ChartsDb


@pytest.fixture
async def reader(charts_db: ChartsDb) -> AsyncIterator[SqlChartsReader]:
    reader = SqlChartsReader.from_url(charts_db.url)
    try:
        yield reader
    finally:
        await reader.aclose()


@pytest.fixture
def charts(reader: SqlChartsReader) -> ChartsService:
    return ChartsService(reader)


def names(rows: list) -> list[str]:
    return [row.artist for row in rows]


# --------------------------------------------------------------------------- pages


async def test_each_chart_is_read_whole_in_rank_order(charts: ChartsService, charts_db: ChartsDb) -> None:
    assert await charts.top_streamed_artists(limit=1000) == stamped(STREAMED, charts_db.layout)
    assert await charts.monthly_listeners(limit=1000) == stamped(LISTENERS, charts_db.layout)
    assert await charts.top_songs(limit=1000) == stamped(SONGS, charts_db.layout)


async def test_pages_follow_limit_and_offset(charts: ChartsService, charts_db: ChartsDb) -> None:
    everything = stamped(SONGS, charts_db.layout)

    assert await charts.top_songs(limit=3) == everything[:3]
    assert await charts.top_songs(limit=3, offset=3) == everything[3:6]
    assert await charts.top_songs(limit=100, offset=7) == everything[7:]
    assert await charts.top_songs(limit=1, offset=100) == []
    assert await charts.top_songs(limit=1, offset=2**70) == []


async def test_counts_are_integers_whatever_the_stored_type(charts: ChartsService) -> None:
    rows = await charts.top_streamed_artists(limit=5) + await charts.top_songs(limit=5)

    for row in rows:
        assert type(row.rank) is int
        assert all(type(value) is int for value in (row.streams, row.daily) if value is not None)


async def test_songs_are_split_into_artist_and_title(charts: ChartsService) -> None:
    songs = {song.rank: song for song in await charts.top_songs(limit=100)}

    assert (songs[1].artist, songs[1].title) == ("The Weeknd", "Blinding Lights")
    assert (songs[7].artist, songs[7].title) == ("", "Untitled")
    assert (songs[8].artist, songs[8].title) == ("Drake & Rihanna", "Too Good - Remix")


# --------------------------------------------------------------------------- search


async def test_search_is_partial_and_case_insensitive(charts: ChartsService) -> None:
    found = await charts.search("wEEKn")

    assert names(found.top_streamed) == ["The Weeknd"]
    assert names(found.monthly_listeners) == ["The Weeknd"]
    assert [(song.artist, song.title) for song in found.top_songs] == [("The Weeknd", "Blinding Lights")]


async def test_exact_matches_come_first_then_by_rank_at_most_ten(charts: ChartsService) -> None:
    found = await charts.search("drake")

    assert names(found.top_streamed) == [
        "Drake",
        "Drakeo the Ruler",
        *(f"Drake Tribute Band {i}" for i in range(8)),
    ]
    assert names(found.monthly_listeners) == ["DRAKE", "Drakeo the Ruler"]
    assert [(song.rank, song.artist) for song in found.top_songs] == [
        (2, "Drake"),
        (12, "Drake"),
        (4, "Drakeo the Ruler"),
        (8, "Drake & Rihanna"),
    ]  # not "Drake's Song" by Rihanna: songs are searched by artist


async def test_non_ascii_names_match_ignoring_case(charts: ChartsService) -> None:
    found = await charts.search("BEYONCÉ")

    assert names(found.top_streamed) == ["Beyoncé"]
    assert names(found.monthly_listeners) == ["Beyoncé"]
    assert names(found.top_songs) == ["Beyoncé"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("100%", ["100% Pure"]),
        ("%", ["100% Pure"]),
        ("e_B", ["The_Band"]),
        ("_", ["The_Band"]),
        ("/", ["AC/DC", "Hall // Oates"]),
        ('"', []),
        ('x"y', []),
        ("*", []),
        ("Swift*", []),
        ("e OR Drake", []),
        ("NEAR(a b)", []),
    ],
)
async def test_wildcards_and_search_syntax_are_literal(charts: ChartsService, name: str, expected: list[str]) -> None:
    assert names((await charts.search(name)).top_streamed) == expected


async def test_names_with_slashes_are_found(charts: ChartsService) -> None:
    assert names((await charts.search("ac/dc")).monthly_listeners) == ["AC/DC"]
    assert names((await charts.search("l // O")).top_streamed) == ["Hall // Oates"]
    assert names((await charts.search("l / O")).top_streamed) == []


async def test_nothing_found_is_three_empty_lists(charts: ChartsService) -> None:
    found = await charts.search("Nobody At All")

    assert (found.top_streamed, found.monthly_listeners, found.top_songs) == ([], [], [])


async def test_search_results_carry_the_layouts_dates(charts: ChartsService, charts_db: ChartsDb) -> None:
    found = await charts.search("The Weeknd")

    assert found.monthly_listeners == stamped(LISTENERS[:1], charts_db.layout)


async def test_sonos_schema_without_trigram_tables_is_searched_all_the_same(tmp_path) -> None:
    """An SQLite without FTS5 (or a database whose trigram tables were dropped) scans instead."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'kworb.db'}"
    await write_charts(url, "sono")
    engine = writer_engine(url)
    async with engine.begin() as connection:
        for chart in ("kworb_top_streamed_artists", "kworb_monthly_listeners", "kworb_top_songs"):
            await connection.execute(text(f"DROP TABLE {chart}_search"))
    await engine.dispose()
    reader = SqlChartsReader.from_url(url)
    try:
        found = await ChartsService(reader).search("drake")
        assert names(found.monthly_listeners) == ["DRAKE", "Drakeo the Ruler"]
        assert len(found.top_streamed) == 10
        assert names((await ChartsService(reader).search("100%")).top_streamed) == ["100% Pure"]
    finally:
        await reader.aclose()


# --------------------------------------------------------------------------- read only


async def test_the_reader_cannot_write(charts_db: ChartsDb) -> None:
    engine = reader_engine(charts_db.url)
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError, match=r"(?i)read-?only"):
                await connection.execute(text("CREATE TABLE intruder (id INTEGER)"))
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- unavailable


async def expect_unavailable(url: str, detail: str = UNAVAILABLE, **options: float) -> None:
    reader = SqlChartsReader(reader_engine(url), **options)
    try:
        for read in (
            reader.check(),
            reader.top_streamed_artists(limit=1, offset=0),
            reader.find_artist("x", limit=10),
        ):
            with pytest.raises(ServiceUnavailable) as raised:
                await read
            assert raised.value.detail == detail
    finally:
        await reader.aclose()


async def test_a_missing_sqlite_file_is_unavailable_and_not_created(tmp_path) -> None:
    await expect_unavailable(f"sqlite+aiosqlite:///{tmp_path / 'missing.db'}")

    assert list(tmp_path.iterdir()) == []


async def test_a_postgresql_server_that_refuses_is_unavailable(closed_port: int) -> None:
    await expect_unavailable(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port}/kworb")


async def test_a_postgresql_server_that_never_answers_is_unavailable_not_a_hang(silent_port: int) -> None:
    await expect_unavailable(f"postgresql+asyncpg://postgres@127.0.0.1:{silent_port}/kworb", timeout=0.2)


async def test_a_database_without_charts_is_unavailable(empty_url: str) -> None:
    url = empty_url
    engine = writer_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE something_else (id INTEGER)"))
    await engine.dispose()

    await expect_unavailable(url, NO_CHARTS)


async def test_a_scraper_database_with_one_table_has_two_empty_charts(tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'partial.db'}"
    engine = writer_engine(url)
    async with engine.begin() as connection:
        await connection.execute(
            text('CREATE TABLE spotify_top_song_streams ("Rank" INTEGER, "Artist and Title" TEXT)')
        )
        await connection.execute(text("INSERT INTO spotify_top_song_streams VALUES (1, 'Drake - One Dance')"))
    await engine.dispose()
    reader = SqlChartsReader.from_url(url)
    try:
        charts = ChartsService(reader)
        songs = await charts.top_songs()
        assert [(song.rank, song.artist, song.title, song.streams) for song in songs] == [
            (1, "Drake", "One Dance", None)
        ]
        assert await charts.top_streamed_artists() == []
        assert names((await charts.search("drake")).top_songs) == ["Drake"]
    finally:
        await reader.aclose()


# --------------------------------------------------------------------------- composition


async def test_build_charts_follows_kworb_database_url(tmp_path) -> None:
    assert build_charts(load_settings({"SONO_DATA_DIR": str(tmp_path)})) == (None, None)

    settings = load_settings({"SONO_DATA_DIR": str(tmp_path), "KWORB_DATABASE_URL": f"sqlite:///{tmp_path}/k.db"})
    reader, check = build_charts(settings)
    assert reader is not None and check is not None
    try:
        assert check.name == "charts"
        with pytest.raises(ServiceUnavailable):
            await check.check()
    finally:
        await reader.aclose()


@pytest.mark.postgres
async def test_postgresql_sessions_are_read_only_with_a_short_statement_timeout(postgres_url: str) -> None:
    engine = reader_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            read_only = (await connection.execute(text("SHOW transaction_read_only"))).scalar()
            timeout = (await connection.execute(text("SHOW statement_timeout"))).scalar()
    finally:
        await engine.dispose()

    assert (read_only, timeout) == ("on", "3s")
