"""Subsonic app passwords (migration 0005): per-device secrets of the Subsonic API. Never the secret
itself, only its keyed digest (``lookup``) and, with token authentication on, the secret sealed
under a key outside the database."""

from __future__ import annotations

from sqlalchemy import Column, LargeBinary, String, Table, UniqueConstraint

from sono.adapters.sqlalchemy.tables.accounts import user_id
from sono.adapters.sqlalchemy.tables.base import created, id_column, mapped, metadata, timestamp
from sono.domain.app_passwords import CLIENT_MAX_LENGTH, HINT_LENGTH, NAME_MAX_LENGTH, AppPassword

subsonic_credentials = Table(
    "subsonic_credentials",
    metadata,
    id_column(),
    user_id("user_id", on_delete="CASCADE", nullable=False),
    Column("name", String(NAME_MAX_LENGTH), nullable=False),
    Column("lookup", String(64), nullable=False, unique=True),
    Column("sealed_secret", LargeBinary()),
    Column("hint", String(HINT_LENGTH), nullable=False),
    created("created_at"),
    timestamp("last_used_at"),
    Column("last_client", String(CLIENT_MAX_LENGTH)),
    UniqueConstraint("user_id", "name", name="uq_subsonic_credentials_user_id_name"),
)

mapped(AppPassword, subsonic_credentials)
