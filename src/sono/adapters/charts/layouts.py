"""The two table layouts a charts database may have, told apart by inspecting it:

- Sono's own schema (``schema.py``), written by ``sono kworb import``;
- the layout the original Kworb scraper writes (and existing deployments have): the tables
  ``spotify_top_streamed_artists`` ("Rank", "Artist", "Streams", "Daily", "As lead", "Solo",
  "As feature"), ``spotify_artist_monthly_listeners`` ("Rank", "Artist", "Listeners", "Peak",
  "PkListeners") and ``spotify_top_song_streams`` ("Rank", "Artist and Title", "Streams",
  "Daily"), with quoted mixed-case column names and values stored as numbers or as text with
  thousands separators. Columns are found by name ignoring case; a missing count column reads as
  null, a missing table as an empty chart. "Artist and Title" is split at the first " - " (the
  artist is empty without one); ``peak`` is "PkListeners" ("Peak" is the best rank reached, which
  the API does not show); ``peak_date`` and ``scraped_at`` are null.

Sono's schema wins when a database has both. A page of a chart is one statement; a search is one
statement per chart (the exact matches and the partial ones, each cut at the limit in rank order:
``best_matches`` picks the results among them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    BigInteger,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    bindparam,
    case,
    cast,
    func,
    inspect,
    literal_column,
    null,
    select,
    table,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CompoundSelect, Select

from sono.adapters.charts import schema
from sono.adapters.charts.engines import FOLD_FUNCTION
from sono.application.charts.ports import ArtistCandidates
from sono.domain.charts import (
    ARTIST_TITLE_SEPARATOR,
    MonthlyListeners,
    Song,
    StreamedArtist,
    fold,
    parse_count,
    split_artist_and_title,
)

R = TypeVar("R")

SCRAPER_TABLES = {
    "top_streamed": "spotify_top_streamed_artists",
    "monthly_listeners": "spotify_artist_monthly_listeners",
    "top_songs": "spotify_top_song_streams",
}
LIKE_ESCAPE = "/"


class LayoutUnknown(Exception):
    """The database has no chart tables, or a scraper table lacks a column it cannot do without."""


def contains_pattern(text: str) -> str:
    """A LIKE pattern (with ``ESCAPE '/'``) for values that contain ``text`` literally: ``%`` and
    ``_`` in it are no wildcards."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
    escaped = escaped.replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class Chart(Generic[R]):
    """How to read one chart: the selected ``columns`` (in ``to_row``'s order), the ``order`` of its
    rows and the artist as searches compare it (``key``). A searched name is folded the same way:
    by ``fold`` in Python when ``fold_in_sql`` is None, else by that SQL function. The statements
    are built once, with bound parameters (SQLAlchemy then reuses their compiled form)."""

    columns: Sequence[ColumnElement[Any]]
    order: Sequence[ColumnElement[Any]]
    key: ColumnElement[Any]
    to_row: Callable[[Sequence[Any]], R | None]
    fold_in_sql: Callable[[ColumnElement[Any]], ColumnElement[Any]] | None = None
    indexed_partial: ColumnElement[bool] | None = None
    """The partial match through a trigram index, with a ``phrase`` parameter (SQLite's FTS5)."""
    ascii_key: ColumnElement[Any] | None = None
    """SQLite: the artist as stored, which SQLite's own ``LIKE`` and ``NOCASE`` compare ignoring
    ASCII case; used for ASCII names, sparing a call of ``fold`` per row."""
    ascii_haystack: ColumnElement[Any] | None = None
    """SQLite: a cheap column that contains ``ascii_key`` ("Artist and Title"), looked at first."""

    @cached_property
    def _page(self) -> Select[Any]:
        return select(*self.columns).order_by(*self.order).limit(bindparam("limit")).offset(bindparam("offset"))

    @cached_property
    def _candidates(self) -> CompoundSelect[Any]:
        def folded(name: str) -> ColumnElement[Any]:
            value = bindparam(name, type_=Text)
            return value if self.fold_in_sql is None else self.fold_in_sql(value)

        return self._exact_and(self.key.like(folded("pattern"), escape=LIKE_ESCAPE))

    @cached_property
    def _indexed_candidates(self) -> CompoundSelect[Any]:
        assert self.indexed_partial is not None
        return self._exact_and(self.indexed_partial)

    @cached_property
    def _ascii_candidates(self) -> CompoundSelect[Any]:
        assert self.ascii_key is not None
        pattern = bindparam("pattern", type_=Text)
        exact: ColumnElement[bool] = self.ascii_key.collate("NOCASE") == bindparam("name", type_=Text)
        partial: ColumnElement[bool] = self.ascii_key.like(pattern, escape=LIKE_ESCAPE)
        if self.ascii_haystack is not None:  # SQLite evaluates AND left to right
            contains = self.ascii_haystack.like(pattern, escape=LIKE_ESCAPE)
            exact, partial = contains & exact, contains & partial
        return self._exact_and(partial, exact)

    def _exact_and(self, partial: ColumnElement[bool], exact: ColumnElement[bool] | None = None) -> CompoundSelect[Any]:
        if exact is None:
            value = bindparam("name", type_=Text)
            exact = self.key == (value if self.fold_in_sql is None else self.fold_in_sql(value))
        firsts = [
            select(*self.columns).where(condition).order_by(*self.order).limit(bindparam("limit")).subquery()
            for condition in (exact, partial)
        ]
        return union_all(*(first.select() for first in firsts))

    async def page(self, connection: AsyncConnection, limit: int, offset: int) -> list[R]:
        return self._rows(await connection.execute(self._page, {"limit": limit, "offset": offset}))

    async def candidates(self, connection: AsyncConnection, name: str, limit: int) -> list[R]:
        """The first ``limit`` exact matches and the first ``limit`` partial ones, by rank."""
        searched = name if self.fold_in_sql is not None else fold(name)
        if self.indexed_partial is not None and len(searched) >= schema.TRIGRAM_MIN:
            phrase = '"' + searched.replace('"', '""') + '"'
            parameters = {"name": searched, "phrase": phrase, "limit": limit}
            return self._rows(await connection.execute(self._indexed_candidates, parameters))
        parameters = {"name": searched, "pattern": contains_pattern(searched), "limit": limit}
        if self.ascii_key is not None and searched.isascii():
            return self._rows(await connection.execute(self._ascii_candidates, parameters))
        return self._rows(await connection.execute(self._candidates, parameters))

    def _rows(self, result: Any) -> list[R]:
        return [row for row in map(self.to_row, result) if row is not None]


@dataclass(frozen=True)
class Layout:
    """A database's charts (``None``: the database has no such table: an empty chart)."""

    name: str
    top_streamed: Chart[StreamedArtist] | None
    monthly_listeners: Chart[MonthlyListeners] | None
    top_songs: Chart[Song] | None

    async def find_artist(self, connection: AsyncConnection, name: str, limit: int) -> ArtistCandidates:
        async def candidates(chart: Chart[R] | None) -> list[R]:
            return [] if chart is None else await chart.candidates(connection, name, limit)

        return ArtistCandidates(
            top_streamed=await candidates(self.top_streamed),
            monthly_listeners=await candidates(self.monthly_listeners),
            top_songs=await candidates(self.top_songs),
        )


def detect(connection: Connection) -> Layout:
    """The layout of the database behind ``connection``. Raises ``LayoutUnknown``."""
    names = set(inspect(connection).get_table_names())
    if names >= schema.TABLE_NAMES:
        sqlite = connection.dialect.name == "sqlite"
        return sono_layout({name for name in names if name.endswith("_search")} if sqlite else set())
    tables = {
        chart: Table(name, MetaData(), autoload_with=connection)
        for chart, name in SCRAPER_TABLES.items()
        if name in names
    }
    if not tables:
        raise LayoutUnknown("no chart tables")
    return scraper_layout(tables, connection.dialect.name)


# --------------------------------------------------------------------------- Sono's schema


def _utc(value: datetime | None) -> datetime | None:
    """Aware UTC (SQLite gives naive datetimes back)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _indexed_partial(chart: Table, search_tables: set[str]) -> ColumnElement[bool] | None:
    """``rank IN (SELECT rowid FROM <chart>_search WHERE <chart>_search MATCH :phrase)`` when the
    chart has its FTS5 trigram table: a quoted phrase matches where it is a substring."""
    name = schema.search_table(chart)
    if name not in search_tables:
        return None
    matching: Select[Any] = select(literal_column("rowid")).select_from(table(name))
    return chart.c.rank.in_(matching.where(literal_column(name).op("MATCH")(bindparam("phrase", type_=Text))))


def sono_layout(search_tables: set[str]) -> Layout:
    """Sono's schema; ``search_tables``: the FTS5 trigram tables present (SQLite)."""
    streamed, listeners, songs = schema.top_streamed_artists.c, schema.monthly_listeners.c, schema.top_songs.c
    return Layout(
        name="sono",
        top_streamed=Chart(
            columns=[
                streamed.rank,
                streamed.artist,
                streamed.streams,
                streamed.daily,
                streamed.as_lead,
                streamed.solo,
                streamed.as_feature,
                streamed.scraped_at,
            ],
            order=[streamed.rank],
            key=streamed.artist_key,
            to_row=_sono_streamed_artist,
            indexed_partial=_indexed_partial(schema.top_streamed_artists, search_tables),
        ),
        monthly_listeners=Chart(
            columns=[
                listeners.rank,
                listeners.artist,
                listeners.listeners,
                listeners.peak,
                listeners.peak_date,
                listeners.scraped_at,
            ],
            order=[listeners.rank],
            key=listeners.artist_key,
            to_row=_sono_monthly_listeners,
            indexed_partial=_indexed_partial(schema.monthly_listeners, search_tables),
        ),
        top_songs=Chart(
            columns=[songs.rank, songs.title, songs.artist, songs.streams, songs.daily, songs.scraped_at],
            order=[songs.rank],
            key=songs.artist_key,
            to_row=_sono_song,
            indexed_partial=_indexed_partial(schema.top_songs, search_tables),
        ),
    )


def _sono_streamed_artist(row: Sequence[Any]) -> StreamedArtist:
    rank, artist, streams, daily, as_lead, solo, as_feature, scraped_at = row
    return StreamedArtist(rank, artist, streams, daily, as_lead, solo, as_feature, _utc(scraped_at))


def _sono_monthly_listeners(row: Sequence[Any]) -> MonthlyListeners:
    rank, artist, listeners, peak, peak_date, scraped_at = row
    return MonthlyListeners(rank, artist, listeners, peak, peak_date, _utc(scraped_at))


def _sono_song(row: Sequence[Any]) -> Song:
    rank, title, artist, streams, daily, scraped_at = row
    return Song(rank, title, artist, streams, daily, _utc(scraped_at))


# --------------------------------------------------------------------------- the scraper's tables


def _count(value: object) -> int | None:
    """A stored number, however it was stored; unreadable reads as null."""
    try:
        return parse_count(value)
    except ValueError:
        return None


def _column(table: Table, name: str) -> ColumnElement[Any] | None:
    wanted = " ".join(name.split()).casefold()
    for column in table.columns:
        if " ".join(column.name.split()).casefold() == wanted:
            return column
    return None


def _required(table: Table, name: str) -> ColumnElement[Any]:
    column = _column(table, name)
    if column is None:
        raise LayoutUnknown(f"table {table.name} has no column {name!r}")
    return column


def _counts(table: Table, *names: str) -> list[ColumnElement[Any]]:
    found = (_column(table, name) for name in names)
    return [column if column is not None else null().label(f"no_{i}") for i, column in enumerate(found)]


def _rank(column: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """The rank as an integer to order by, also when it is stored as text (``1,234``)."""
    if dialect == "sqlite":  # any column may hold text in SQLite
        return cast(func.replace(column, ",", ""), Integer).label("rank")
    if isinstance(column.type, Integer):
        return column
    if isinstance(column.type, Numeric):
        return cast(column, BigInteger).label("rank")
    digits = func.regexp_replace(cast(column, Text), "[^0-9]", "", "g")
    return cast(func.nullif(digits, ""), BigInteger).label("rank")


def scraper_layout(tables: dict[str, Table], dialect: str) -> Layout:
    """The scraper's tables that exist (``tables`` by chart). On SQLite names are folded with
    ``fold`` itself (registered as an SQL function by the reader's engine), or, for an ASCII name,
    compared by SQLite ignoring ASCII case (a part of "Straße" is then not found as "ss"); on
    PostgreSQL with ``lower`` on both sides."""
    sqlite = dialect == "sqlite"

    def fold_sql(expression: ColumnElement[Any]) -> ColumnElement[Any]:
        return getattr(func, FOLD_FUNCTION)(expression) if sqlite else func.lower(expression)

    top_streamed = monthly_listeners = top_songs = None
    if (table := tables.get("top_streamed")) is not None:
        rank, artist = _rank(_required(table, "Rank"), dialect), _required(table, "Artist")
        top_streamed = Chart(
            columns=[rank, artist, *_counts(table, "Streams", "Daily", "As lead", "Solo", "As feature")],
            order=[rank, artist],
            key=fold_sql(artist),
            fold_in_sql=None if sqlite else func.lower,
            ascii_key=artist if sqlite else None,
            to_row=_streamed_artist,
        )
    if (table := tables.get("monthly_listeners")) is not None:
        rank, artist = _rank(_required(table, "Rank"), dialect), _required(table, "Artist")
        monthly_listeners = Chart(
            columns=[rank, artist, *_counts(table, "Listeners", "PkListeners")],
            order=[rank, artist],
            key=fold_sql(artist),
            fold_in_sql=None if sqlite else func.lower,
            ascii_key=artist if sqlite else None,
            to_row=_monthly_listeners,
        )
    if (table := tables.get("top_songs")) is not None:
        rank, both = _rank(_required(table, "Rank"), dialect), _required(table, "Artist and Title")
        position = (func.instr if sqlite else func.strpos)(both, ARTIST_TITLE_SEPARATOR)
        artist_part = func.trim(case((position > 0, func.substr(both, 1, position - 1)), else_=""))
        top_songs = Chart(
            columns=[rank, both, *_counts(table, "Streams", "Daily")],
            order=[rank, both],
            key=fold_sql(artist_part),
            fold_in_sql=None if sqlite else func.lower,
            ascii_key=artist_part if sqlite else None,
            ascii_haystack=both if sqlite else None,
            to_row=_song,
        )
    return Layout("scraper", top_streamed, monthly_listeners, top_songs)


def _streamed_artist(row: Sequence[Any]) -> StreamedArtist | None:
    rank = _count(row[0])
    if rank is None:
        return None
    streams, daily, as_lead, solo, as_feature = (_count(value) for value in row[2:7])
    return StreamedArtist(rank, str(row[1] or ""), streams, daily, as_lead, solo, as_feature)


def _monthly_listeners(row: Sequence[Any]) -> MonthlyListeners | None:
    rank = _count(row[0])
    if rank is None:
        return None
    return MonthlyListeners(rank, str(row[1] or ""), listeners=_count(row[2]), peak=_count(row[3]))


def _song(row: Sequence[Any]) -> Song | None:
    rank = _count(row[0])
    if rank is None:
        return None
    artist, title = split_artist_and_title(str(row[1] or ""))
    return Song(rank, title, artist, streams=_count(row[2]), daily=_count(row[3]))
