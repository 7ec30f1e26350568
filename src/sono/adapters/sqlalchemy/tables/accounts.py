"""The accounts' tables: users, their refresh-token families and password reset tokens."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, func

from sono.adapters.sqlalchemy.tables.base import created, id_column, mapped, metadata, timestamp
from sono.domain.sessions import PasswordResetToken, RefreshFamily
from sono.domain.users import BIO_MAX, DISPLAY_NAME_MAX, EMAIL_MAX, USERNAME_MAX, User


def user_id(name: str, *, on_delete: str, nullable: bool, index: bool = False) -> Column[int]:
    """A reference to a user (``users.id``), what most features' tables have."""
    return Column(name, Integer, ForeignKey("users.id", ondelete=on_delete), nullable=nullable, index=index)


users = Table(
    "users",
    metadata,
    id_column(),
    Column("username", String(USERNAME_MAX), nullable=False),
    Column("email", String(EMAIL_MAX), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("display_name", String(DISPLAY_NAME_MAX)),
    Column("bio", String(BIO_MAX)),
    Column("profile_picture_key", String(512)),
    Column("is_active", Boolean, nullable=False),
    Column("is_superuser", Boolean, nullable=False),
    Column("max_audio_uploads", Integer, nullable=False),
    Column("token_version", Integer, nullable=False),
    created("created_at", index=True),
    timestamp("updated_at"),
    timestamp("deactivated_at"),
    timestamp("deletion_requested_at"),
)
Index("uq_users_email_lower", func.lower(users.c.email), unique=True)
Index("uq_users_username_lower", func.lower(users.c.username), unique=True)

refresh_families = Table(
    "refresh_families",
    metadata,
    Column("id", String(36), primary_key=True),
    user_id("user_id", on_delete="CASCADE", nullable=False, index=True),
    Column("current_jti", String(64), nullable=False),
    timestamp("created_at", nullable=False),
    timestamp("expires_at", nullable=False, index=True),
    timestamp("last_rotated_at"),
    timestamp("revoked_at"),
    Column("revoked_reason", String(100)),
    Column("previous_jti", String(64)),
)

password_reset_tokens = Table(
    "password_reset_tokens",
    metadata,
    id_column(),
    user_id("user_id", on_delete="CASCADE", nullable=False, index=True),
    Column("token_hash", String(128), nullable=False, unique=True),
    timestamp("created_at", nullable=False),
    timestamp("expires_at", nullable=False, index=True),
    timestamp("used_at"),
)

mapped(User, users)
mapped(RefreshFamily, refresh_families)
mapped(PasswordResetToken, password_reset_tokens)
