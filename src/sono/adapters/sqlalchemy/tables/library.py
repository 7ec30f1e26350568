"""The library (issue 14): the read model derived from the audio files' tags
(``sono.domain.library``): artists, their albums, and one row per audio file saying where it is
filed, kept by ``uow.library.file`` in the transaction that writes the file (deleting the file
cascades to its row). ``search`` columns hold ``search_text`` of the name (or title), in the "C"
collation on PostgreSQL so that they sort by code point as on SQLite and in the fakes; the text
indexes over them (SQLite FTS5 tables with the trigram tokenizer, PostgreSQL pg_trgm GIN indexes)
are made by migration 0007 and named in ``SEARCH_INDEX_TABLES`` (kept out of the comparison with
these tables: ``is_search_index`` is registered as ``migration_only``)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, Table, Text, UniqueConstraint

from sono.adapters.sqlalchemy.tables.base import id_column, metadata, migration_only

_SEARCH_TEXT = Text().with_variant(Text(collation="C"), "postgresql")

library_artists = Table(
    "library_artists",
    metadata,
    id_column(),
    Column("key", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("search", _SEARCH_TEXT, nullable=False, index=True),
)

library_albums = Table(
    "library_albums",
    metadata,
    id_column(),
    Column("artist_id", Integer, ForeignKey("library_artists.id", ondelete="CASCADE"), nullable=False),
    Column("key", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("search", _SEARCH_TEXT, nullable=False, index=True),
    UniqueConstraint("artist_id", "key", name="uq_library_albums_artist_id_key"),
)

library_songs = Table(
    "library_songs",
    metadata,
    Column(
        "audio_file_id",
        Integer,
        ForeignKey("audio_files.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("artist_id", Integer, ForeignKey("library_artists.id"), nullable=False, index=True),
    Column("album_id", Integer, ForeignKey("library_albums.id"), nullable=False, index=True),
    Column("search", _SEARCH_TEXT, nullable=False, index=True),
)

library_collections = Table(
    "library_collections",
    metadata,
    Column(
        "collection_id",
        Integer,
        ForeignKey("collections.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("search", _SEARCH_TEXT, nullable=False, index=True),
)
"""The search text of each collection's title (``uow.library.file_collection``, with the change)."""

_SEARCHED = ("library_artists", "library_albums", "library_songs", "library_collections")
SEARCH_INDEX_TABLES = tuple(f"{table}_fts" for table in _SEARCHED)
"""SQLite FTS5 tables over the ``search`` columns (each with its shadow tables ``<name>_*``)."""


SEARCH_TRIGRAM_INDEXES = tuple(f"ix_{table}_search_trgm" for table in _SEARCHED)
"""PostgreSQL GIN indexes (``gin_trgm_ops``) over the ``search`` columns."""


@migration_only
def is_search_index(name: str | None) -> bool:
    """Whether a table or index found in the database is one of the text indexes of the library
    (an FTS5 table or one of its shadow tables, a trigram index)."""
    if not name:
        return False
    return name in SEARCH_TRIGRAM_INDEXES or any(
        name == table or name.startswith(f"{table}_") for table in SEARCH_INDEX_TABLES
    )
