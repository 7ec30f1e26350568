"""What the clients, audio, collections and admin need.

- usernames unique case-insensitively (an index on ``lower(username)`` replaces the plain one);
- ``users.deletion_requested_at`` (the pending deletion, on every user answer);
- ``refresh_families.previous_jti`` (the refresh grace window); access tokens are ended through
  their session now, so ``revoked_tokens`` goes;
- audio files' descriptive tags and cover art, and unique storage keys;
- ``pending_objects``: stored objects whose row is not committed yet (orphan clean-up).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

Timestamp = sa.DateTime(timezone=True)


def _email_index() -> None:
    op.create_index(op.f("uq_users_email_lower"), "users", [sa.text("lower(email)")], unique=True)


def upgrade() -> None:
    # SQLite's batch mode rebuilds the table and cannot carry expression indexes over: drop and
    # recreate the one on lower(email) around it.
    op.drop_index(op.f("uq_users_email_lower"), table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("uq_users_username"), type_="unique")
        batch.add_column(sa.Column("deletion_requested_at", Timestamp))
    _email_index()
    op.create_index(op.f("uq_users_username_lower"), "users", [sa.text("lower(username)")], unique=True)
    op.execute(
        "UPDATE users SET deletion_requested_at = ("
        " SELECT requested_at FROM deletion_requests"
        " WHERE deletion_requests.user_id = users.id AND deletion_requests.status = 'pending')"
    )

    with op.batch_alter_table("refresh_families") as batch:
        batch.add_column(sa.Column("previous_jti", sa.String(64)))
    op.drop_table("revoked_tokens")

    with op.batch_alter_table("audio_files") as batch:
        batch.add_column(sa.Column("artist", sa.Text()))
        batch.add_column(sa.Column("album", sa.Text()))
        batch.add_column(sa.Column("track_number", sa.Integer()))
        batch.add_column(sa.Column("year", sa.Integer()))
        batch.add_column(sa.Column("genre", sa.Text()))
        batch.add_column(sa.Column("cover_art_key", sa.String(512)))
        batch.create_unique_constraint(op.f("uq_audio_files_storage_key"), ["storage_key"])

    op.create_table(
        "pending_objects",
        sa.Column("key", sa.String(1024), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_pending_objects")),
    )
    op.create_index(op.f("ix_pending_objects_created_at"), "pending_objects", ["created_at"])


def downgrade() -> None:
    op.drop_table("pending_objects")
    with op.batch_alter_table("audio_files") as batch:
        batch.drop_constraint(op.f("uq_audio_files_storage_key"), type_="unique")
        for column in ("cover_art_key", "genre", "year", "track_number", "album", "artist"):
            batch.drop_column(column)
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(64), nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("user_id", sa.Integer()),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_revoked_tokens")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_revoked_tokens_user_id_users"), ondelete="CASCADE"
        ),
    )
    op.create_index(op.f("ix_revoked_tokens_expires_at"), "revoked_tokens", ["expires_at"])
    with op.batch_alter_table("refresh_families") as batch:
        batch.drop_column("previous_jti")
    op.drop_index(op.f("uq_users_username_lower"), table_name="users")
    op.drop_index(op.f("uq_users_email_lower"), table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("deletion_requested_at")
        batch.create_unique_constraint(op.f("uq_users_username"), ["username"])
    _email_index()
