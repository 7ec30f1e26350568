"""The announcements' table."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Table, Text

from sono.adapters.sqlalchemy.tables.accounts import user_id
from sono.adapters.sqlalchemy.tables.base import created, id_column, mapped, metadata, timestamp
from sono.domain.announcements import Announcement

announcements = Table(
    "announcements",
    metadata,
    id_column(),
    Column("title", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("is_published", Boolean, nullable=False),
    user_id("created_by_id", on_delete="SET NULL", nullable=True),
    created("created_date", index=True),
    timestamp("updated_date"),
    timestamp("published_date"),
    Index("ix_announcements_is_published_published_date", "is_published", "published_date"),
)

mapped(Announcement, announcements)
