"""The maintenance mode's single row."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, Integer, String, Table

from sono.adapters.sqlalchemy.tables.accounts import user_id
from sono.adapters.sqlalchemy.tables.base import metadata, timestamp
from sono.domain.maintenance import MESSAGE_MAX

maintenance_state = Table(
    "maintenance_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("enabled", Boolean, nullable=False),
    Column("message", String(MESSAGE_MAX), nullable=False),
    timestamp("updated_at"),
    user_id("updated_by_id", on_delete="SET NULL", nullable=True),
    CheckConstraint("id = 1", name="singleton"),
)
