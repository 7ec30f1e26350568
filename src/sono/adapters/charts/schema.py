"""Sono's own charts schema, in the charts database (not Sono's main database, and not managed by
its migrations): created by ``sono kworb import`` with ``create_all`` and documented in the README.

One table per chart, keyed by rank. ``artist_key`` is the artist as searches compare it
(``sono.domain.charts.fold``), indexed so that exact matches are found without a scan; partial
matches scan a chart of a few thousand rows in rank order and stop at the tenth."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, DateTime, Index, Integer, MetaData, Table, Text

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
