"""The audio files' table."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, String, Table, Text, UniqueConstraint

from sono.adapters.sqlalchemy.tables.accounts import user_id
from sono.adapters.sqlalchemy.tables.base import created, id_column, mapped, metadata, timestamp
from sono.domain.audio import AudioFile

audio_files = Table(
    "audio_files",
    metadata,
    id_column(),
    user_id("owner_id", on_delete="CASCADE", nullable=False),
    Column("title", Text, nullable=False),
    Column("original_filename", Text, nullable=False),
    Column("storage_key", String(512), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("file_size", BigInteger, nullable=False),
    Column("format", String(10), nullable=False),
    Column("description", Text),
    Column("duration", Float),
    Column("bitrate", Integer),
    Column("sample_rate", Integer),
    Column("channels", Integer),
    Column("is_public", Boolean, nullable=False),
    Column("artist", Text),
    Column("album", Text),
    Column("track_number", Integer),
    Column("year", Integer),
    Column("genre", Text),
    Column("cover_art_key", String(512)),
    created("upload_date"),
    timestamp("updated_at"),
    Index("ix_audio_files_owner_id_upload_date", "owner_id", "upload_date"),
    Index("ix_audio_files_is_public_upload_date", "is_public", "upload_date"),
    UniqueConstraint("storage_key"),
)

# --------------------------------------------------------------------------- library import (issue 14)
# The SHA-256 of an audio file's stored bytes (hex; null for files uploaded before migration 0008),
# indexed with the owner so `sono library import` finds a file already imported in one read.
audio_files.append_column(Column("content_hash", String(64)))
Index("ix_audio_files_owner_id_content_hash", audio_files.c.owner_id, audio_files.c.content_hash)

mapped(AudioFile, audio_files)
