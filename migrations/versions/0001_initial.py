"""Initial schema: accounts, sessions, GDPR, media, collections, announcements, maintenance.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

Timestamp = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _created(name: str) -> sa.Column:
    return sa.Column(name, Timestamp, server_default=sa.func.now(), nullable=False)


def _fk(table: str, column: str, target: str, on_delete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=on_delete
    )


def _one_of(column: str, table: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=op.f(f"ck_{table}_{column}"))


def _index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table, list(columns))


def upgrade() -> None:
    op.create_table(
        "users",
        _id(),
        sa.Column("username", sa.String(50), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("display_name", sa.String(50)),
        sa.Column("bio", sa.String(500)),
        sa.Column("profile_picture_key", sa.String(512)),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_superuser", sa.Boolean(), nullable=False),
        sa.Column("max_audio_uploads", sa.Integer(), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        _created("created_at"),
        sa.Column("updated_at", Timestamp),
        sa.Column("deactivated_at", Timestamp),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index(op.f("uq_users_email_lower"), "users", [sa.text("lower(email)")], unique=True)
    _index("users", "created_at")

    op.create_table(
        "refresh_families",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("current_jti", sa.String(64), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("last_rotated_at", Timestamp),
        sa.Column("revoked_at", Timestamp),
        sa.Column("revoked_reason", sa.String(100)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_families")),
        _fk("refresh_families", "user_id", "users", "CASCADE"),
    )
    _index("refresh_families", "user_id")
    _index("refresh_families", "expires_at")

    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(64), nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("user_id", sa.Integer()),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_revoked_tokens")),
        _fk("revoked_tokens", "user_id", "users", "CASCADE"),
    )
    _index("revoked_tokens", "expires_at")

    op.create_table(
        "password_reset_tokens",
        _id(),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(128), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("used_at", Timestamp),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_reset_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_reset_tokens_token_hash")),
        _fk("password_reset_tokens", "user_id", "users", "CASCADE"),
    )
    _index("password_reset_tokens", "user_id")
    _index("password_reset_tokens", "expires_at")

    op.create_table(
        "consents",
        _id(),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("consent_type", sa.String(50), nullable=False),
        sa.Column("consent_version", sa.String(20), nullable=False),
        sa.Column("given_at", Timestamp, nullable=False),
        sa.Column("ip_address", sa.String(45)),
        sa.Column("withdrawn_at", Timestamp),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        _fk("consents", "user_id", "users", "CASCADE"),
    )
    _index("consents", "user_id", "given_at")

    op.create_table(
        "deletion_requests",
        _id(),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("deletion_type", sa.String(20), nullable=False),
        sa.Column("requested_at", Timestamp, nullable=False),
        sa.Column("scheduled_for", Timestamp, nullable=False),
        sa.Column("reason", sa.String(1000)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("cancelled_at", Timestamp),
        sa.Column("executed_at", Timestamp),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deletion_requests")),
        _fk("deletion_requests", "user_id", "users", "CASCADE"),
        _one_of("deletion_type", "deletion_requests", ("soft", "hard")),
        _one_of("status", "deletion_requests", ("pending", "cancelled", "completed")),
    )
    _index("deletion_requests", "user_id")
    _index("deletion_requests", "status", "scheduled_for")
    pending = sa.text("status = 'pending'")
    op.create_index(
        op.f("uq_deletion_requests_pending"),
        "deletion_requests",
        ["user_id"],
        unique=True,
        postgresql_where=pending,
        sqlite_where=pending,
    )

    op.create_table(
        "audit_log",
        _id(),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("user_id", sa.Integer()),
        sa.Column("actor_id", sa.Integer()),
        sa.Column("ip_address", sa.String(45)),
        sa.Column("details", Json, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        _fk("audit_log", "user_id", "users", "SET NULL"),
        _fk("audit_log", "actor_id", "users", "SET NULL"),
    )
    _index("audit_log", "created_at")
    _index("audit_log", "user_id")
    _index("audit_log", "actor_id")

    op.create_table(
        "audio_files",
        _id(),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("original_filename", sa.Text(), nullable=False),
        sa.Column("storage_key", sa.String(512), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("format", sa.String(10), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("duration", sa.Float()),
        sa.Column("bitrate", sa.Integer()),
        sa.Column("sample_rate", sa.Integer()),
        sa.Column("channels", sa.Integer()),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        _created("upload_date"),
        sa.Column("updated_at", Timestamp),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audio_files")),
        _fk("audio_files", "owner_id", "users", "CASCADE"),
    )
    _index("audio_files", "owner_id", "upload_date")
    _index("audio_files", "is_public", "upload_date")

    op.create_table(
        "collections",
        _id(),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("collection_type", sa.String(20), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("artist", sa.Text()),
        sa.Column("curator_note", sa.Text()),
        sa.Column("cover_art_key", sa.String(512)),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("is_collaborative", sa.Boolean(), nullable=False),
        _created("created_date"),
        sa.Column("updated_date", Timestamp),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collections")),
        _fk("collections", "owner_id", "users", "CASCADE"),
        _one_of("collection_type", "collections", ("album", "playlist", "compilation")),
    )
    _index("collections", "collection_type")
    _index("collections", "owner_id", "created_date")
    _index("collections", "is_public", "created_date")

    op.create_table(
        "collection_tracks",
        _id(),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("audio_file_id", sa.Integer(), nullable=False),
        sa.Column("track_order", sa.Integer(), nullable=False),
        _created("added_date"),
        sa.Column("added_by_id", sa.Integer()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_tracks")),
        _fk("collection_tracks", "collection_id", "collections", "CASCADE"),
        _fk("collection_tracks", "audio_file_id", "audio_files", "CASCADE"),
        _fk("collection_tracks", "added_by_id", "users", "SET NULL"),
        sa.UniqueConstraint(
            "collection_id", "audio_file_id", name=op.f("uq_collection_tracks_collection_id_audio_file_id")
        ),
        sa.UniqueConstraint(
            "collection_id", "track_order", name=op.f("uq_collection_tracks_collection_id_track_order")
        ),
    )
    _index("collection_tracks", "audio_file_id")

    op.create_table(
        "collaborators",
        _id(),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("permission_level", sa.String(20), nullable=False),
        _created("added_date"),
        sa.Column("added_by_id", sa.Integer()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collaborators")),
        _fk("collaborators", "collection_id", "collections", "CASCADE"),
        _fk("collaborators", "user_id", "users", "CASCADE"),
        _fk("collaborators", "added_by_id", "users", "SET NULL"),
        sa.UniqueConstraint("collection_id", "user_id", name=op.f("uq_collaborators_collection_id_user_id")),
        _one_of("permission_level", "collaborators", ("edit", "view")),
    )
    _index("collaborators", "user_id")

    op.create_table(
        "announcements",
        _id(),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("is_published", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer()),
        _created("created_date"),
        sa.Column("updated_date", Timestamp),
        sa.Column("published_date", Timestamp),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
        _fk("announcements", "created_by_id", "users", "SET NULL"),
    )
    _index("announcements", "created_date")
    _index("announcements", "is_published", "published_date")

    op.create_table(
        "maintenance_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("message", sa.String(200), nullable=False),
        sa.Column("updated_at", Timestamp),
        sa.Column("updated_by_id", sa.Integer()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_state")),
        _fk("maintenance_state", "updated_by_id", "users", "SET NULL"),
        sa.CheckConstraint("id = 1", name=op.f("ck_maintenance_state_singleton")),
    )


def downgrade() -> None:
    for table in (
        "maintenance_state",
        "announcements",
        "collaborators",
        "collection_tracks",
        "collections",
        "audio_files",
        "audit_log",
        "deletion_requests",
        "consents",
        "password_reset_tokens",
        "revoked_tokens",
        "refresh_families",
        "users",
    ):
        op.drop_table(table)  # its indexes go with it
