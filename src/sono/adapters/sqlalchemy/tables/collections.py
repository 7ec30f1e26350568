"""The collections' tables: the aggregate's root, its tracks and its collaborators."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import relationship

from sono.adapters.sqlalchemy.tables.accounts import user_id
from sono.adapters.sqlalchemy.tables.base import created, enum_type, id_column, mapped, metadata, timestamp
from sono.domain.collections import Collaborator, Collection, CollectionTrack, CollectionType, Permission

collections = Table(
    "collections",
    metadata,
    id_column(),
    user_id("owner_id", on_delete="CASCADE", nullable=False),
    Column("title", Text, nullable=False),
    Column("collection_type", enum_type(CollectionType, "collection_type"), nullable=False, index=True),
    Column("description", Text),
    Column("artist", Text),
    Column("curator_note", Text),
    Column("cover_art_key", String(512)),
    Column("is_public", Boolean, nullable=False),
    Column("is_collaborative", Boolean, nullable=False),
    created("created_date"),
    timestamp("updated_date"),
    Index("ix_collections_owner_id_created_date", "owner_id", "created_date"),
    Index("ix_collections_is_public_created_date", "is_public", "created_date"),
)

collection_tracks = Table(
    "collection_tracks",
    metadata,
    id_column(),
    Column("collection_id", Integer, ForeignKey("collections.id", ondelete="CASCADE"), nullable=False),
    Column("audio_file_id", Integer, ForeignKey("audio_files.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("track_order", Integer, nullable=False),
    created("added_date"),
    user_id("added_by_id", on_delete="SET NULL", nullable=True),
    UniqueConstraint("collection_id", "audio_file_id", name="uq_collection_tracks_collection_id_audio_file_id"),
    UniqueConstraint("collection_id", "track_order", name="uq_collection_tracks_collection_id_track_order"),
)

collaborators = Table(
    "collaborators",
    metadata,
    id_column(),
    Column("collection_id", Integer, ForeignKey("collections.id", ondelete="CASCADE"), nullable=False),
    user_id("user_id", on_delete="CASCADE", nullable=False, index=True),
    Column("permission_level", enum_type(Permission, "permission_level"), nullable=False),
    created("added_date"),
    user_id("added_by_id", on_delete="SET NULL", nullable=True),
    UniqueConstraint("collection_id", "user_id", name="uq_collaborators_collection_id_user_id"),
)


def _aggregate() -> dict[str, Any]:
    """A collection loads its tracks (in order) and collaborators with it, and saving it saves
    them (removing one from its list deletes the row)."""
    return {
        "tracks": relationship(
            CollectionTrack,
            order_by=collection_tracks.c.track_order,
            cascade="all, delete-orphan",
            passive_deletes=True,
            lazy="selectin",
        ),
        "collaborators": relationship(
            Collaborator,
            order_by=(collaborators.c.added_date, collaborators.c.id),
            cascade="all, delete-orphan",
            passive_deletes=True,
            lazy="selectin",
        ),
    }


mapped(CollectionTrack, collection_tracks)
mapped(Collaborator, collaborators)
mapped(Collection, collections, _aggregate)
