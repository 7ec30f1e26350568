"""The objects stored but not yet recorded (an upload in progress), swept when abandoned."""

from __future__ import annotations

from sqlalchemy import Column, String, Table

from sono.adapters.sqlalchemy.tables.base import metadata, timestamp

pending_objects = Table(
    "pending_objects",
    metadata,
    Column("key", String(1024), primary_key=True),
    timestamp("created_at", nullable=False, index=True),
)
