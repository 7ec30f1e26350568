"""The schema as SQLAlchemy Core tables, and the imperative mapping of the domain dataclasses.

``migrations/versions`` must create exactly this schema; ``tests/integration`` checks they agree.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    inspect,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry, relationship

from sono.domain.annotations import StarKind
from sono.domain.announcements import Announcement
from sono.domain.app_passwords import CLIENT_MAX_LENGTH, HINT_LENGTH, NAME_MAX_LENGTH, AppPassword
from sono.domain.audio import AudioFile
from sono.domain.collections import Collaborator, Collection, CollectionTrack, CollectionType, Permission
from sono.domain.gdpr import (
    CONSENT_TYPE_MAX,
    CONSENT_VERSION_MAX,
    IP_ADDRESS_MAX,
    AuditEntry,
    Consent,
    DeletionRequest,
    DeletionStatus,
    DeletionType,
)
from sono.domain.maintenance import MESSAGE_MAX
from sono.domain.sessions import PasswordResetToken, RefreshFamily
from sono.domain.users import BIO_MAX, DISPLAY_NAME_MAX, EMAIL_MAX, USERNAME_MAX, User

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
mapper_registry = registry(metadata=metadata)


class UtcDateTime(TypeDecorator[datetime]):
    """``TIMESTAMP WITH TIME ZONE`` that always hands back aware UTC datetimes.

    SQLite has no time zones: values are stored as naive UTC text. Naive input is taken as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = _as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else _as_utc(value)


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    """A ``VARCHAR(20)`` with a CHECK constraint (``ck_<table>_<name>``), read back as ``cls``."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
    )


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True)


def _user_id(name: str, *, on_delete: str, nullable: bool, index: bool = False) -> Column[int]:
    return Column(name, Integer, ForeignKey("users.id", ondelete=on_delete), nullable=nullable, index=index)


def _timestamp(name: str, *, nullable: bool = True, index: bool = False) -> Column[datetime]:
    return Column(name, UtcDateTime(), nullable=nullable, index=index)


def _created(name: str, *, index: bool = False) -> Column[datetime]:
    """A creation time that lists are ordered by: required, defaulting to the database's now."""
    return Column(name, UtcDateTime(), nullable=False, server_default=func.now(), index=index)


users = Table(
    "users",
    metadata,
    _id(),
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
    _created("created_at", index=True),
    _timestamp("updated_at"),
    _timestamp("deactivated_at"),
    _timestamp("deletion_requested_at"),
)
Index("uq_users_email_lower", func.lower(users.c.email), unique=True)
Index("uq_users_username_lower", func.lower(users.c.username), unique=True)

refresh_families = Table(
    "refresh_families",
    metadata,
    Column("id", String(36), primary_key=True),
    _user_id("user_id", on_delete="CASCADE", nullable=False, index=True),
    Column("current_jti", String(64), nullable=False),
    _timestamp("created_at", nullable=False),
    _timestamp("expires_at", nullable=False, index=True),
    _timestamp("last_rotated_at"),
    _timestamp("revoked_at"),
    Column("revoked_reason", String(100)),
    Column("previous_jti", String(64)),
)

password_reset_tokens = Table(
    "password_reset_tokens",
    metadata,
    _id(),
    _user_id("user_id", on_delete="CASCADE", nullable=False, index=True),
    Column("token_hash", String(128), nullable=False, unique=True),
    _timestamp("created_at", nullable=False),
    _timestamp("expires_at", nullable=False, index=True),
    _timestamp("used_at"),
)

consents = Table(
    "consents",
    metadata,
    _id(),
    _user_id("user_id", on_delete="CASCADE", nullable=False),
    Column("consent_type", String(CONSENT_TYPE_MAX), nullable=False),
    Column("consent_version", String(CONSENT_VERSION_MAX), nullable=False),
    _timestamp("given_at", nullable=False),
    Column("ip_address", String(IP_ADDRESS_MAX)),
    _timestamp("withdrawn_at"),
    Index("ix_consents_user_id_given_at", "user_id", "given_at"),
)

deletion_requests = Table(
    "deletion_requests",
    metadata,
    _id(),
    _user_id("user_id", on_delete="CASCADE", nullable=False, index=True),
    Column("deletion_type", _enum(DeletionType, "deletion_type"), nullable=False),
    _timestamp("requested_at", nullable=False),
    _timestamp("scheduled_for", nullable=False),
    Column("reason", String(1000)),
    Column("status", _enum(DeletionStatus, "status"), nullable=False),
    _timestamp("cancelled_at"),
    _timestamp("executed_at"),
    Index("ix_deletion_requests_status_scheduled_for", "status", "scheduled_for"),
)
_PENDING = text("status = 'pending'")
Index(
    "uq_deletion_requests_pending",
    deletion_requests.c.user_id,
    unique=True,
    postgresql_where=_PENDING,
    sqlite_where=_PENDING,
)

audit_log = Table(
    "audit_log",
    metadata,
    _id(),
    Column("event", String(64), nullable=False),
    _timestamp("created_at", nullable=False, index=True),
    _user_id("user_id", on_delete="SET NULL", nullable=True, index=True),
    _user_id("actor_id", on_delete="SET NULL", nullable=True, index=True),
    Column("ip_address", String(45)),
    Column("details", JSON().with_variant(JSONB(), "postgresql"), nullable=False),
)

audio_files = Table(
    "audio_files",
    metadata,
    _id(),
    _user_id("owner_id", on_delete="CASCADE", nullable=False),
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
    _created("upload_date"),
    _timestamp("updated_at"),
    Index("ix_audio_files_owner_id_upload_date", "owner_id", "upload_date"),
    Index("ix_audio_files_is_public_upload_date", "is_public", "upload_date"),
    UniqueConstraint("storage_key"),
)

pending_objects = Table(
    "pending_objects",
    metadata,
    Column("key", String(1024), primary_key=True),
    _timestamp("created_at", nullable=False, index=True),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("event", String(128), nullable=False),
    Column("reaction", String(128), nullable=False),
    Column("payload", JSON().with_variant(JSONB(), "postgresql"), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    _timestamp("due_at", nullable=False),
    _timestamp("leased_until"),
    Column("last_error", Text),
    _timestamp("failed_at"),
    _timestamp("created_at", nullable=False),
)
_UNFAILED = text("failed_at IS NULL")
Index("ix_outbox_due_at", outbox.c.due_at, postgresql_where=_UNFAILED, sqlite_where=_UNFAILED)

collections = Table(
    "collections",
    metadata,
    _id(),
    _user_id("owner_id", on_delete="CASCADE", nullable=False),
    Column("title", Text, nullable=False),
    Column("collection_type", _enum(CollectionType, "collection_type"), nullable=False, index=True),
    Column("description", Text),
    Column("artist", Text),
    Column("curator_note", Text),
    Column("cover_art_key", String(512)),
    Column("is_public", Boolean, nullable=False),
    Column("is_collaborative", Boolean, nullable=False),
    _created("created_date"),
    _timestamp("updated_date"),
    Index("ix_collections_owner_id_created_date", "owner_id", "created_date"),
    Index("ix_collections_is_public_created_date", "is_public", "created_date"),
)

collection_tracks = Table(
    "collection_tracks",
    metadata,
    _id(),
    Column("collection_id", Integer, ForeignKey("collections.id", ondelete="CASCADE"), nullable=False),
    Column("audio_file_id", Integer, ForeignKey("audio_files.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("track_order", Integer, nullable=False),
    _created("added_date"),
    _user_id("added_by_id", on_delete="SET NULL", nullable=True),
    UniqueConstraint("collection_id", "audio_file_id", name="uq_collection_tracks_collection_id_audio_file_id"),
    UniqueConstraint("collection_id", "track_order", name="uq_collection_tracks_collection_id_track_order"),
)

collaborators = Table(
    "collaborators",
    metadata,
    _id(),
    Column("collection_id", Integer, ForeignKey("collections.id", ondelete="CASCADE"), nullable=False),
    _user_id("user_id", on_delete="CASCADE", nullable=False, index=True),
    Column("permission_level", _enum(Permission, "permission_level"), nullable=False),
    _created("added_date"),
    _user_id("added_by_id", on_delete="SET NULL", nullable=True),
    UniqueConstraint("collection_id", "user_id", name="uq_collaborators_collection_id_user_id"),
)

announcements = Table(
    "announcements",
    metadata,
    _id(),
    Column("title", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("is_published", Boolean, nullable=False),
    _user_id("created_by_id", on_delete="SET NULL", nullable=True),
    _created("created_date", index=True),
    _timestamp("updated_date"),
    _timestamp("published_date"),
    Index("ix_announcements_is_published_published_date", "is_published", "published_date"),
)

maintenance_state = Table(
    "maintenance_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("enabled", Boolean, nullable=False),
    Column("message", String(MESSAGE_MAX), nullable=False),
    _timestamp("updated_at"),
    _user_id("updated_by_id", on_delete="SET NULL", nullable=True),
    CheckConstraint("id = 1", name="singleton"),
)

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

# --------------------------------------------------------------------------- Subsonic app passwords
# (migration 0005) Per-device secrets of the Subsonic API: never the secret itself, only its keyed
# digest (``lookup``) and, with token authentication on, the secret sealed under a key outside the
# database.

subsonic_credentials = Table(
    "subsonic_credentials",
    metadata,
    _id(),
    _user_id("user_id", on_delete="CASCADE", nullable=False),
    Column("name", String(NAME_MAX_LENGTH), nullable=False),
    Column("lookup", String(64), nullable=False, unique=True),
    Column("sealed_secret", LargeBinary()),
    Column("hint", String(HINT_LENGTH), nullable=False),
    _created("created_at"),
    _timestamp("last_used_at"),
    Column("last_client", String(CLIENT_MAX_LENGTH)),
    UniqueConstraint("user_id", "name", name="uq_subsonic_credentials_user_id_name"),
)

# --------------------------------------------------------------------------- library import (issue 14)
# The SHA-256 of an audio file's stored bytes (hex; null for files uploaded before migration 0008),
# indexed with the owner so `sono library import` finds a file already imported in one read.
audio_files.append_column(Column("content_hash", String(64)))
Index("ix_audio_files_owner_id_content_hash", audio_files.c.owner_id, audio_files.c.content_hash)

# --------------------------------------------------------------------------- the library (issue 14)
# The read model derived from the audio files' tags (``sono.domain.library``): artists, their
# albums, and one row per audio file saying where it is filed, kept by ``uow.library.file`` in the
# transaction that writes the file (deleting the file cascades to its row). ``search`` columns hold
# ``search_text`` of the name (or title), in the "C" collation on PostgreSQL so that they sort by
# code point as on SQLite and in the fakes; the text indexes over them (SQLite FTS5 tables with the
# trigram tokenizer, PostgreSQL pg_trgm GIN indexes) are made by migration 0007 and named in
# ``SEARCH_INDEX_TABLES`` (kept out of the comparison with these tables).

_SEARCH_TEXT = Text().with_variant(Text(collation="C"), "postgresql")

library_artists = Table(
    "library_artists",
    metadata,
    _id(),
    Column("key", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("search", _SEARCH_TEXT, nullable=False, index=True),
)

library_albums = Table(
    "library_albums",
    metadata,
    _id(),
    Column("artist_id", Integer, ForeignKey("library_artists.id", ondelete="CASCADE"), nullable=False),
    Column("key", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("search", _SEARCH_TEXT, nullable=False, index=True),
    UniqueConstraint("artist_id", "key", name="uq_library_albums_artist_id_key"),
)

library_songs = Table(
    "library_songs",
    metadata,
    Column(
        "audio_file_id",
        Integer,
        ForeignKey("audio_files.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("artist_id", Integer, ForeignKey("library_artists.id"), nullable=False, index=True),
    Column("album_id", Integer, ForeignKey("library_albums.id"), nullable=False, index=True),
    Column("search", _SEARCH_TEXT, nullable=False, index=True),
)

library_collections = Table(
    "library_collections",
    metadata,
    Column(
        "collection_id",
        Integer,
        ForeignKey("collections.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("search", _SEARCH_TEXT, nullable=False, index=True),
)
"""The search text of each collection's title (``uow.library.file_collection``, with the change)."""

_SEARCHED = ("library_artists", "library_albums", "library_songs", "library_collections")
SEARCH_INDEX_TABLES = tuple(f"{table}_fts" for table in _SEARCHED)
"""SQLite FTS5 tables over the ``search`` columns (each with its shadow tables ``<name>_*``)."""


SEARCH_TRIGRAM_INDEXES = tuple(f"ix_{table}_search_trgm" for table in _SEARCHED)
"""PostgreSQL GIN indexes (``gin_trgm_ops``) over the ``search`` columns."""


def is_search_index(name: str | None) -> bool:
    """Whether a table or index found in the database is one of the text indexes of the library
    (an FTS5 table or one of its shadow tables, a trigram index)."""
    if not name:
        return False
    return name in SEARCH_TRIGRAM_INDEXES or any(
        name == table or name.startswith(f"{table}_") for table in SEARCH_INDEX_TABLES
    )


def include_in_comparison(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's ``include_object``: the library's text indexes are the migrations' alone."""
    return not (reflected and compare_to is None and is_search_index(name))


# --------------------------------------------------------------------------- stars and plays
# (sono.application.annotations; migration 0006)

stars = Table(
    "stars",
    metadata,
    _user_id("user_id", on_delete="CASCADE", nullable=False),
    Column("item_type", _enum(StarKind, "item_type"), nullable=False),
    Column("item_id", Integer, nullable=False),
    _timestamp("starred_at", nullable=False),
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
    _user_id("user_id", on_delete="CASCADE", nullable=False),
    Column("audio_file_id", Integer, ForeignKey("audio_files.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("count", Integer, nullable=False),
    _timestamp("last_played", nullable=False),
    PrimaryKeyConstraint("user_id", "audio_file_id", name="pk_play_counts"),
    Index("ix_play_counts_user_id_last_played", "user_id", "last_played"),
)
"""Finished listens per user and file: how many and the latest (what "most played" and "recently
played" need; a per-listen log would grow without bound and be summed on every read)."""

MAPPED: tuple[tuple[type, Table], ...] = (
    (User, users),
    (RefreshFamily, refresh_families),
    (PasswordResetToken, password_reset_tokens),
    (Consent, consents),
    (DeletionRequest, deletion_requests),
    (AuditEntry, audit_log),
    (AudioFile, audio_files),
    (CollectionTrack, collection_tracks),
    (Collaborator, collaborators),
    (Collection, collections),
    (Announcement, announcements),
    (AppPassword, subsonic_credentials),
)


def _properties(cls: type) -> dict[str, object]:
    """Relationships of the aggregates: a collection loads its tracks (in order) and collaborators
    with it, and saving it saves them (removing one from its list deletes the row)."""
    if cls is Collection:
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
    return {}


def start_mappers() -> None:
    """Map the domain dataclasses onto the tables (once; later calls do nothing)."""
    for cls, table in MAPPED:
        if inspect(cls, raiseerr=False) is None:
            mapper_registry.map_imperatively(cls, table, properties=_properties(cls))
