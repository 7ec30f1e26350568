"""The counters behind the admin statistics."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, Table, text

from sono.adapters.sqlalchemy.tables.base import metadata

catalogue_counters = Table(
    "catalogue_counters",
    metadata,
    Column("shard", Integer, primary_key=True, autoincrement=False),
    *(
        Column(name, BigInteger, nullable=False, server_default=text("0"))
        for name in (
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
    ),
)
"""Kept by triggers (migration 0003): per shard (a user's id, or an owner's, modulo 16), what the
admin statistics sum. Never written by the application."""
