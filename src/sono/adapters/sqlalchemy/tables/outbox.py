"""The outbox: the reactions to events, run after the transaction that recorded them."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB

from sono.adapters.sqlalchemy.tables.base import metadata, timestamp

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("event", String(128), nullable=False),
    Column("reaction", String(128), nullable=False),
    Column("payload", JSON().with_variant(JSONB(), "postgresql"), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    timestamp("due_at", nullable=False),
    timestamp("leased_until"),
    Column("last_error", Text),
    timestamp("failed_at"),
    timestamp("created_at", nullable=False),
)
_UNFAILED = text("failed_at IS NULL")
Index("ix_outbox_due_at", outbox.c.due_at, postgresql_where=_UNFAILED, sqlite_where=_UNFAILED)
