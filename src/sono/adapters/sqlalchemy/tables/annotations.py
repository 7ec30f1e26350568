"""Stars and plays (``sono.application.annotations``; migration 0006)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, PrimaryKeyConstraint, Table

from sono.adapters.sqlalchemy.tables.accounts import user_id
from sono.adapters.sqlalchemy.tables.base import enum_type, metadata, timestamp
from sono.domain.annotations import StarKind

stars = Table(
    "stars",
    metadata,
    user_id("user_id", on_delete="CASCADE", nullable=False),
    Column("item_type", enum_type(StarKind, "item_type"), nullable=False),
    Column("item_id", Integer, nullable=False),
    timestamp("starred_at", nullable=False),
    PrimaryKeyConstraint("user_id", "item_type", "item_id", name="pk_stars"),
    Index("ix_stars_user_id_starred_at", "user_id", "starred_at"),
    Index("ix_stars_item_type_item_id", "item_type", "item_id"),
)
"""A user's star on a song (an audio file), a library album or artist. ``item_id`` cannot have a
foreign key (it names rows of three tables): song stars are deleted with their file by the use
cases that delete files (``AnnotationRepository.forget_stars``)."""

play_counts = Table(
    "play_counts",
    metadata,
    user_id("user_id", on_delete="CASCADE", nullable=False),
    Column("audio_file_id", Integer, ForeignKey("audio_files.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("count", Integer, nullable=False),
    timestamp("last_played", nullable=False),
    PrimaryKeyConstraint("user_id", "audio_file_id", name="pk_play_counts"),
    Index("ix_play_counts_user_id_last_played", "user_id", "last_played"),
)
"""Finished listens per user and file: how many and the latest (what "most played" and "recently
played" need; a per-listen log would grow without bound and be summed on every read)."""
