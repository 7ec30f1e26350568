"""Stars and plays: a user's stars on songs, library albums and artists (``stars``), and their
finished listens counted per file with the latest (``play_counts``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

Timestamp = sa.DateTime(timezone=True)


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "stars",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("item_type", sa.String(20), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("starred_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "item_type", "item_id", name=op.f("pk_stars")),
        _user_fk("stars"),
        sa.CheckConstraint("item_type IN ('song', 'album', 'artist')", name=op.f("ck_stars_item_type")),
    )
    op.create_index(op.f("ix_stars_user_id_starred_at"), "stars", ["user_id", "starred_at"])
    op.create_index(op.f("ix_stars_item_type_item_id"), "stars", ["item_type", "item_id"])

    op.create_table(
        "play_counts",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("audio_file_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_played", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "audio_file_id", name=op.f("pk_play_counts")),
        _user_fk("play_counts"),
        sa.ForeignKeyConstraint(
            ["audio_file_id"],
            ["audio_files.id"],
            name=op.f("fk_play_counts_audio_file_id_audio_files"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_play_counts_audio_file_id"), "play_counts", ["audio_file_id"])
    op.create_index(op.f("ix_play_counts_user_id_last_played"), "play_counts", ["user_id", "last_played"])


def downgrade() -> None:
    op.drop_index(op.f("ix_play_counts_user_id_last_played"), table_name="play_counts")
    op.drop_index(op.f("ix_play_counts_audio_file_id"), table_name="play_counts")
    op.drop_table("play_counts")
    op.drop_index(op.f("ix_stars_item_type_item_id"), table_name="stars")
    op.drop_index(op.f("ix_stars_user_id_starred_at"), table_name="stars")
    op.drop_table("stars")
