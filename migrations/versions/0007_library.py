"""The library read model: artists, albums and where each audio file is filed, with the text
indexes of the search (SQLite FTS5 with the trigram tokenizer, kept by triggers; PostgreSQL pg_trgm
GIN indexes), filled from the audio files already stored.

Grouping keys and search texts are the domain's (``sono.domain.library.filing``: case folding and
accent stripping that SQL cannot do the same way on both databases), so the backfill runs in
Python, in batches.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sono.domain.library import filing, search_text

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

BATCH = 1000
_SEARCHED = {
    "library_artists": "id",
    "library_albums": "id",
    "library_songs": "audio_file_id",
    "library_collections": "collection_id",
}


def _search_text() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "library_artists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("search", _search_text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_library_artists"),
        sa.UniqueConstraint("key", name="uq_library_artists_key"),
    )
    op.create_index("ix_library_artists_search", "library_artists", ["search"])
    op.create_table(
        "library_albums",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("artist_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("search", _search_text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["artist_id"],
            ["library_artists.id"],
            name="fk_library_albums_artist_id_library_artists",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_library_albums"),
        sa.UniqueConstraint("artist_id", "key", name="uq_library_albums_artist_id_key"),
    )
    op.create_index("ix_library_albums_search", "library_albums", ["search"])
    op.create_table(
        "library_songs",
        sa.Column("audio_file_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("artist_id", sa.Integer(), nullable=False),
        sa.Column("album_id", sa.Integer(), nullable=False),
        sa.Column("search", _search_text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audio_file_id"],
            ["audio_files.id"],
            name="fk_library_songs_audio_file_id_audio_files",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["artist_id"], ["library_artists.id"], name="fk_library_songs_artist_id_library_artists"
        ),
        sa.ForeignKeyConstraint(["album_id"], ["library_albums.id"], name="fk_library_songs_album_id_library_albums"),
        sa.PrimaryKeyConstraint("audio_file_id", name="pk_library_songs"),
    )
    op.create_index("ix_library_songs_artist_id", "library_songs", ["artist_id"])
    op.create_index("ix_library_songs_album_id", "library_songs", ["album_id"])
    op.create_index("ix_library_songs_search", "library_songs", ["search"])
    op.create_table(
        "library_collections",
        sa.Column("collection_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("search", _search_text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name="fk_library_collections_collection_id_collections",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("collection_id", name="pk_library_collections"),
    )
    op.create_index("ix_library_collections_search", "library_collections", ["search"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for table in _SEARCHED:
            op.execute(f"CREATE INDEX ix_{table}_search_trgm ON {table} USING gin (search gin_trgm_ops)")
    else:
        for table, key in _SEARCHED.items():
            _fts(f"{table}_fts", table, key)
    _backfill()


def _fts(name: str, table: str, key: str) -> None:
    """An external-content FTS5 table over ``table.search`` (trigram tokens: substrings), kept by
    triggers on every insert, update and delete (cascades included)."""
    op.execute(
        f"CREATE VIRTUAL TABLE {name} USING fts5(search, content='{table}', content_rowid='{key}', tokenize='trigram')"
    )
    insert = f"INSERT INTO {name}(rowid, search) VALUES (new.{key}, new.search);"
    remove = f"INSERT INTO {name}({name}, rowid, search) VALUES ('delete', old.{key}, old.search);"
    op.execute(f"CREATE TRIGGER {name}_insert AFTER INSERT ON {table} BEGIN {insert} END")
    op.execute(f"CREATE TRIGGER {name}_delete AFTER DELETE ON {table} BEGIN {remove} END")
    op.execute(f"CREATE TRIGGER {name}_update AFTER UPDATE ON {table} BEGIN {remove} {insert} END")


def _backfill() -> None:
    """File every stored audio file, and index every collection's title, in batches by id."""
    bind = op.get_bind()
    collections = sa.table("collections", sa.column("id"), sa.column("title"))
    indexed = sa.table("library_collections", sa.column("collection_id"), sa.column("search"))
    last = 0
    while rows := bind.execute(
        sa.select(collections.c.id, collections.c.title)
        .where(collections.c.id > last)
        .order_by(collections.c.id)
        .limit(BATCH)
    ).all():
        bind.execute(indexed.insert(), [{"collection_id": i, "search": search_text(title)} for i, title in rows])
        last = rows[-1][0]
    files = sa.table("audio_files", sa.column("id"), sa.column("title"), sa.column("artist"), sa.column("album"))
    artists_t = sa.table("library_artists", *(sa.column(n) for n in ("id", "key", "name", "search")))
    albums_t = sa.table("library_albums", *(sa.column(n) for n in ("id", "artist_id", "key", "name", "search")))
    songs_t = sa.table("library_songs", *(sa.column(n) for n in ("audio_file_id", "artist_id", "album_id", "search")))
    artists: dict[str, int] = {}
    albums: dict[tuple[int, str], int] = {}
    last = 0
    while True:
        rows = bind.execute(
            sa.select(files.c.id, files.c.title, files.c.artist, files.c.album)
            .where(files.c.id > last)
            .order_by(files.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        songs = []
        for audio_id, title, artist, album in rows:
            filed = filing(title, artist, album)
            artist_id = artists.get(filed.artist_key)
            if artist_id is None:
                artist_id = artists[filed.artist_key] = bind.execute(
                    artists_t.insert()
                    .values(key=filed.artist_key, name=filed.artist, search=filed.artist_search)
                    .returning(artists_t.c.id)
                ).scalar_one()
            album_id = albums.get((artist_id, filed.album_key))
            if album_id is None:
                album_id = albums[artist_id, filed.album_key] = bind.execute(
                    albums_t.insert()
                    .values(artist_id=artist_id, key=filed.album_key, name=filed.album, search=filed.album_search)
                    .returning(albums_t.c.id)
                ).scalar_one()
            songs.append({"audio_file_id": audio_id, "artist_id": artist_id, "album_id": album_id, "search": filed.title_search})
        bind.execute(songs_t.insert(), songs)
        last = rows[-1][0]


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for table in _SEARCHED:
            name = f"{table}_fts"
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {name}_{event}")
            op.execute(f"DROP TABLE IF EXISTS {name}")
    op.drop_table("library_collections")
    op.drop_table("library_songs")
    op.drop_table("library_albums")
    op.drop_table("library_artists")
