"""Catalogue counters kept by the database, so the admin statistics read 16 rows instead of counting
a million.

``catalogue_counters`` has one row per shard (``id % 16`` of the user, or of the owner of an audio
file or collection): triggers on ``users``, ``audio_files`` and ``collections`` add and subtract as
rows come, go and change, in the same transaction (cascading deletes included). Sharding keeps
concurrent writers of different users off each other's row. The statistics are the sums.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

SHARDS = 16
COUNTERS = (
    "users",
    "active_users",
    "superusers",
    "audio_files",
    "storage_bytes",
    "collections",
    "albums",
    "playlists",
    "compilations",
    "public_collections",
    "collaborative_collections",
)


def _b(condition: str) -> str:
    """1 when ``condition`` holds, else 0 (both dialects)."""
    return f"(CASE WHEN {condition} THEN 1 ELSE 0 END)"


# What one row of each table adds to its shard, with ``{r}`` standing for NEW or OLD.
CONTRIBUTIONS: dict[str, tuple[str, dict[str, str]]] = {
    "users": (
        "{r}.id",
        {"users": "1", "active_users": _b("{r}.is_active"), "superusers": _b("{r}.is_superuser")},
    ),
    "audio_files": ("{r}.owner_id", {"audio_files": "1", "storage_bytes": "{r}.file_size"}),
    "collections": (
        "{r}.owner_id",
        {
            "collections": "1",
            "albums": _b("{r}.collection_type = 'album'"),
            "playlists": _b("{r}.collection_type = 'playlist'"),
            "compilations": _b("{r}.collection_type = 'compilation'"),
            "public_collections": _b("{r}.is_public"),
            "collaborative_collections": _b("{r}.is_collaborative"),
        },
    ),
}


WATCHED = {
    "users": "is_active, is_superuser",
    "audio_files": "owner_id, file_size",
    "collections": "owner_id, collection_type, is_public, is_collaborative",
}
"""The columns whose change moves a counter: other updates (a profile, a title) touch no counter."""


def _apply(table: str, row: str, sign: str) -> str:
    """An UPDATE adding (``+``) or removing (``-``) ``row``'s contribution to its shard."""
    key, columns = CONTRIBUTIONS[table]
    changes = ", ".join(f"{c} = {c} {sign} {v.format(r=row)}" for c, v in columns.items())
    return f"UPDATE catalogue_counters SET {changes} WHERE shard = {key.format(r=row)} % {SHARDS}"


def _refresh() -> str:
    """Recompute every shard from the tables (after creating them, and for bulk loads)."""
    sums = []
    for table, (key, columns) in CONTRIBUTIONS.items():
        shard = key.format(r=table)
        for column, value in columns.items():
            sums.append(
                f"{column} = (SELECT COALESCE(SUM({value.format(r=table)}), 0) FROM {table}"
                f" WHERE {shard} % {SHARDS} = catalogue_counters.shard)"
            )
    return f"UPDATE catalogue_counters SET {', '.join(sums)}"


REFRESH = _refresh()


def upgrade() -> None:
    op.create_table(
        "catalogue_counters",
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(name, sa.BigInteger(), server_default="0", nullable=False) for name in COUNTERS),
        sa.PrimaryKeyConstraint("shard", name=op.f("pk_catalogue_counters")),
    )
    op.bulk_insert(
        sa.table("catalogue_counters", sa.column("shard", sa.Integer())), [{"shard": i} for i in range(SHARDS)]
    )
    op.execute(REFRESH)
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in CONTRIBUTIONS:
        if postgres:
            op.execute(
                f"""CREATE FUNCTION count_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN {_apply(table, "OLD", "-")}; END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN {_apply(table, "NEW", "+")}; END IF;
    RETURN NULL;
END $$"""
            )
            op.execute(
                f"CREATE TRIGGER trg_count_{table} AFTER INSERT OR UPDATE OF {WATCHED[table]} OR DELETE ON {table}"
                f" FOR EACH ROW EXECUTE FUNCTION count_{table}()"
            )
        else:
            add, remove = _apply(table, "NEW", "+"), _apply(table, "OLD", "-")
            op.execute(f"CREATE TRIGGER trg_count_{table}_insert AFTER INSERT ON {table} BEGIN {add}; END")
            op.execute(f"CREATE TRIGGER trg_count_{table}_delete AFTER DELETE ON {table} BEGIN {remove}; END")
            op.execute(
                f"CREATE TRIGGER trg_count_{table}_update AFTER UPDATE OF {WATCHED[table]} ON {table}"
                f" BEGIN {_apply(table, 'OLD', '-')}; {_apply(table, 'NEW', '+')}; END"
            )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in CONTRIBUTIONS:
        if postgres:
            op.execute(f"DROP TRIGGER trg_count_{table} ON {table}")
            op.execute(f"DROP FUNCTION count_{table}()")
        else:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER trg_count_{table}_{event}")
    op.drop_table("catalogue_counters")
