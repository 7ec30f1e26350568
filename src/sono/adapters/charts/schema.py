"""Sono's own charts schema, in the charts database (not Sono's main database, and not managed by
its migrations): created by ``sono kworb import`` with ``create_all`` and documented in the README.

One table per chart, keyed by rank. ``artist_key`` is the artist as searches compare it
(``sono.domain.charts.fold``), indexed so that exact matches are found without a scan. Partial
matches (a name's part anywhere in ``artist_key``) use a trigram index where the database has one:
on SQLite an FTS5 table ``<chart>_search`` (``tokenize='trigram'``, external content: the chart
itself), on PostgreSQL a GIN ``gin_trgm_ops`` index (extension ``pg_trgm``). Without them (an
SQLite built without FTS5, a role that may not create the extension), and for parts shorter than
three characters, a partial search scans the chart."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import BigInteger, Column, Date, DateTime, Index, Integer, MetaData, Table, Text, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger(__name__)

metadata = MetaData()


def _counts(*names: str) -> list[Column[int]]:
    return [Column(name, BigInteger, nullable=True) for name in names]


top_streamed_artists = Table(
    "kworb_top_streamed_artists",
    metadata,
    Column("rank", Integer, primary_key=True, autoincrement=False),
    Column("artist", Text, nullable=False),
    Column("artist_key", Text, nullable=False),
    *_counts("streams", "daily", "as_lead", "solo", "as_feature"),
    Column("scraped_at", DateTime(timezone=True), nullable=False),
    Index("ix_kworb_top_streamed_artists_artist_key", "artist_key"),
)

monthly_listeners = Table(
    "kworb_monthly_listeners",
    metadata,
    Column("rank", Integer, primary_key=True, autoincrement=False),
    Column("artist", Text, nullable=False),
    Column("artist_key", Text, nullable=False),
    *_counts("listeners", "peak"),
    Column("peak_date", Date, nullable=True),
    Column("scraped_at", DateTime(timezone=True), nullable=False),
    Index("ix_kworb_monthly_listeners_artist_key", "artist_key"),
)

top_songs = Table(
    "kworb_top_songs",
    metadata,
    Column("rank", Integer, primary_key=True, autoincrement=False),
    Column("title", Text, nullable=False),
    Column("artist", Text, nullable=False),
    Column("artist_key", Text, nullable=False),
    *_counts("streams", "daily"),
    Column("scraped_at", DateTime(timezone=True), nullable=False),
    Index("ix_kworb_top_songs_artist_key", "artist_key"),
)

TABLES = (top_streamed_artists, monthly_listeners, top_songs)
TABLE_NAMES = frozenset(table.name for table in TABLES)


TRIGRAM_MIN = 3
"""Trigram indexes find parts of at least this many characters; shorter ones are scanned for."""


def search_table(table: Table) -> str:
    """The name of the SQLite FTS5 trigram table of a chart."""
    return f"{table.name}_search"


async def create_substring_indexes(connection: AsyncConnection) -> Sequence[str]:
    """Create the trigram indexes the database allows (each in a savepoint: one it refuses leaves
    the transaction usable); the names of those that exist. To be rebuilt after the charts are
    written (``rebuild_substring_indexes``)."""
    created = []
    for table in TABLES:
        if connection.dialect.name == "sqlite":
            name = search_table(table)
            statement = (
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {name} USING fts5(artist_key, tokenize='trigram',"
                f" content='{table.name}', content_rowid='rank')"
            )
            statements = [statement]
        else:
            name = f"ix_{table.name}_artist_key_trigram"
            statements = [
                "CREATE EXTENSION IF NOT EXISTS pg_trgm",
                f"CREATE INDEX IF NOT EXISTS {name} ON {table.name} USING gin (artist_key gin_trgm_ops)",
            ]
        try:
            async with connection.begin_nested():
                for statement in statements:
                    await connection.execute(text(statement))
        except SQLAlchemyError as exc:  # no FTS5 or trigram tokenizer, no right to create the extension
            log.info("no trigram index %s (partial searches scan the chart): %s", name, getattr(exc, "orig", exc))
            continue
        created.append(name)
    return created


async def rebuild_substring_indexes(connection: AsyncConnection, names: Sequence[str]) -> None:
    """Bring SQLite's FTS5 tables up to date with their charts (PostgreSQL's indexes follow by
    themselves)."""
    if connection.dialect.name == "sqlite":
        for name in names:
            await connection.execute(text(f"INSERT INTO {name}({name}) VALUES ('rebuild')"))
