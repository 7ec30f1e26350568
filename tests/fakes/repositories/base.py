"""The in-memory database behind the fake repositories, and the registry they are built from.

A ``FakeDatabase`` holds one ``FakeTable`` (a dict by primary key) per SQL table and enforces what
the schema does: ids, the unique constraints (raising ``Conflict`` with the same names), the
``ON DELETE`` actions of the foreign keys (optionally the references themselves) and the
creation-time defaults. Collections are stored as whole aggregates: their tracks and
collaborators live in the aggregate's lists (the SQL schema's ``collection_tracks`` and
``collaborators`` tables), and the database applies to those lists what the foreign keys of those
tables do. Each unit of work reaches the database through a ``FakeSession`` that records the rows
it may change so that a rollback can undo them. Repositories hand out the stored objects
themselves: changing one changes the database.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, Literal, TypeVar

from sono.application.events import OutboxEntry
from sono.application.values import Page
from sono.domain.announcements import Announcement
from sono.domain.app_passwords import AppPassword
from sono.domain.audio import AudioFile
from sono.domain.collections import Collaborator, Collection, CollectionTrack
from sono.domain.errors import Conflict
from sono.domain.gdpr import AuditEntry, Consent, DeletionRequest
from sono.domain.maintenance import DEFAULT_MESSAGE
from sono.domain.sessions import PasswordResetToken, RefreshFamily
from sono.domain.users import User

T = TypeVar("T")
R = TypeVar("R", bound=type)
Where = Callable[[T], bool]

REPOSITORIES: dict[str, Callable[[FakeSession], object]] = {}
"""Repository name (an attribute of the unit of work) -> class taking the fake session."""


def repository(name: str) -> Callable[[R], R]:
    """Register the decorated class as the in-memory implementation of ``UnitOfWork.<name>``."""

    def register(cls: R) -> R:
        if name in REPOSITORIES:
            raise RuntimeError(f"two fake repositories named {name!r}")
        REPOSITORIES[name] = cls
        return cls

    return register


class ForeignKeyViolation(Exception):
    """A row points at a parent that does not exist (the SQL adapter raises ``IntegrityError``)."""


@dataclass(frozen=True)
class Unique:
    """A unique constraint; ``keys`` returns the keys a row holds (none for rows a partial index
    does not cover; several for an aggregate holding child rows)."""

    name: str
    keys: Callable[[Any], Iterable[Hashable]]


def single(key: Callable[[Any], Hashable | None]) -> Callable[[Any], Iterable[Hashable]]:
    """``keys`` for a constraint on one row's columns (None: the row is not covered)."""

    def keys(row: Any) -> Iterable[Hashable]:
        value = key(row)
        return () if value is None else (value,)

    return keys


class FakeTable(dict[Any, T]):
    """The rows of one table by primary key."""

    def __init__(
        self, name: str, *, key: str = "id", unique: Sequence[Unique] = (), created: str | None = None
    ) -> None:
        super().__init__()
        self.name = name
        self.key = key
        self.unique = (Unique(f"pk_{name}", single(attrgetter(key))), *unique)
        self.created = created  # the column the database fills with "now" when left empty
        self._ids = itertools.count(1)

    def key_of(self, row: T) -> Any:
        return getattr(row, self.key)

    def fill_defaults(self, row: T) -> None:
        if self.key == "id" and getattr(row, "id", None) is None:
            row.id = self.next_id()  # type: ignore[attr-defined]
        if self.created and getattr(row, self.created) is None:
            setattr(row, self.created, datetime.now(UTC))

    def next_id(self) -> int:
        return next(id_ for id_ in self._ids if id_ not in self)

    def check_unique(self, candidates: Iterable[T] | None = None) -> None:
        """Raise ``Conflict`` when a candidate (by default every row) shares a key with another row
        or holds one key twice (an aggregate's children)."""
        rows = list(self.values())
        checked = rows if candidates is None else list(candidates)
        checked_ids = {id(row) for row in checked}
        stored_ids = {id(row) for row in rows}
        everything = rows + [row for row in checked if id(row) not in stored_ids]
        for constraint in self.unique:
            owners: dict[Hashable, Any] = {}
            for row in everything:
                held: set[Hashable] = set()
                for key in constraint.keys(row):
                    owner = owners.setdefault(key, row)
                    clash = key in held or owner is not row
                    held.add(key)
                    if clash and (id(row) in checked_ids or id(owner) in checked_ids):
                        raise Conflict(constraint=constraint.name)


@dataclass
class MaintenanceRow:
    """The ``maintenance_state`` row (``MaintenanceState`` is frozen)."""

    id: int = 1
    enabled: bool = False
    message: str = DEFAULT_MESSAGE
    updated_at: datetime | None = None
    updated_by_id: int | None = None


@dataclass
class PendingObject:
    key: str
    created_at: datetime


@dataclass
class LibraryArtistRow:
    key: str
    name: str
    search: str
    id: int | None = None


@dataclass
class LibraryAlbumRow:
    artist_id: int
    key: str
    name: str
    search: str
    id: int | None = None


@dataclass
class LibrarySongRow:
    audio_file_id: int
    artist_id: int
    album_id: int
    search: str


@dataclass
class StarRow:
    """A ``stars`` row (keyed by user, kind and item)."""

    user_id: int
    item_type: str
    item_id: int
    starred_at: datetime

    @property
    def key(self) -> tuple[int, str, int]:
        return (self.user_id, self.item_type, self.item_id)


@dataclass
class PlayCountRow:
    """A ``play_counts`` row (keyed by user and file)."""

    user_id: int
    audio_file_id: int
    count: int
    last_played: datetime

    @property
    def key(self) -> tuple[int, int]:
        return (self.user_id, self.audio_file_id)


@dataclass(frozen=True)
class ForeignKey:
    table: FakeTable[Any]
    column: str
    parent: FakeTable[Any]
    on_delete: Literal["cascade", "set null"]


def _track_keys(attribute: str) -> Callable[[Collection], Iterable[Hashable]]:
    def keys(collection: Collection) -> Iterable[Hashable]:
        return [(collection.id, getattr(track, attribute)) for track in collection.tracks]

    return keys


class FakeDatabase:
    """Every table, shared by the units of work of one ``FakeUnitOfWorkFactory``.

    ``check_references`` makes inserts refuse rows that point at missing parents, as the database
    does (off by default, so that tests may use ids of rows they did not create)."""

    def __init__(self, *, check_references: bool = False) -> None:
        self.enforce_references = check_references
        self.users = FakeTable[User](
            "users",
            unique=[
                Unique("uq_users_email_lower", single(lambda user: user.email.lower())),
                Unique("uq_users_username_lower", single(lambda user: user.username.lower())),
            ],
            created="created_at",
        )
        self.families = FakeTable[RefreshFamily]("refresh_families")
        self.reset_tokens = FakeTable[PasswordResetToken](
            "password_reset_tokens",
            unique=[Unique("uq_password_reset_tokens_token_hash", single(attrgetter("token_hash")))],
        )
        self.consents = FakeTable[Consent]("consents")
        self.deletions = FakeTable[DeletionRequest](
            "deletion_requests",
            unique=[Unique("uq_deletion_requests_pending", single(lambda r: r.user_id if r.is_pending else None))],
        )
        self.audit = FakeTable[AuditEntry]("audit_log")
        self.pending_objects = FakeTable[PendingObject]("pending_objects", key="key")
        self.audio_files = FakeTable[AudioFile](
            "audio_files",
            unique=[Unique("uq_audio_files_storage_key", single(attrgetter("storage_key")))],
            created="upload_date",
        )
        self.collections = FakeTable[Collection](
            "collections",
            unique=[
                Unique("uq_collection_tracks_collection_id_audio_file_id", _track_keys("audio_file_id")),
                Unique("uq_collection_tracks_collection_id_track_order", _track_keys("track_order")),
                Unique(
                    "uq_collaborators_collection_id_user_id",
                    lambda collection: [(collection.id, c.user_id) for c in collection.collaborators],
                ),
            ],
            created="created_date",
        )
        self.announcements = FakeTable[Announcement]("announcements", created="created_date")
        self.maintenance = FakeTable[MaintenanceRow]("maintenance_state")
        self.outbox = FakeTable[OutboxEntry]("outbox")
        self.app_passwords = FakeTable[AppPassword](
            "subsonic_credentials",
            unique=[
                Unique("uq_subsonic_credentials_lookup", single(attrgetter("lookup"))),
                Unique("uq_subsonic_credentials_user_id_name", single(lambda c: (c.user_id, c.name))),
            ],
            created="created_at",
        )
        self.library_artists = FakeTable[LibraryArtistRow](
            "library_artists", unique=[Unique("uq_library_artists_key", single(attrgetter("key")))]
        )
        self.library_albums = FakeTable[LibraryAlbumRow](
            "library_albums",
            unique=[Unique("uq_library_albums_artist_id_key", single(lambda row: (row.artist_id, row.key)))],
        )
        self.library_songs = FakeTable[LibrarySongRow]("library_songs", key="audio_file_id")
        self.stars = FakeTable[StarRow]("stars", key="key")
        self.play_counts = FakeTable[PlayCountRow]("play_counts", key="key")
        self._child_ids = itertools.count(1)

        def fk(table: FakeTable[Any], column: str, parent: FakeTable[Any] | None = None) -> ForeignKey:
            return ForeignKey(table, column, self.users if parent is None else parent, "cascade")

        def fk_set_null(table: FakeTable[Any], column: str) -> ForeignKey:
            return ForeignKey(table, column, self.users, "set null")

        self.foreign_keys = (
            fk(self.families, "user_id"),
            fk(self.reset_tokens, "user_id"),
            fk(self.consents, "user_id"),
            fk(self.deletions, "user_id"),
            fk_set_null(self.audit, "user_id"),
            fk_set_null(self.audit, "actor_id"),
            fk(self.audio_files, "owner_id"),
            fk(self.collections, "owner_id"),
            fk_set_null(self.announcements, "created_by_id"),
            fk_set_null(self.maintenance, "updated_by_id"),
            fk(self.app_passwords, "user_id"),
            fk(self.library_songs, "audio_file_id", self.audio_files),
            fk(self.library_albums, "artist_id", self.library_artists),
            fk(self.stars, "user_id"),
            fk(self.play_counts, "user_id"),
            fk(self.play_counts, "audio_file_id", self.audio_files),
        )

    def tables(self) -> list[FakeTable[Any]]:
        return [table for table in vars(self).values() if isinstance(table, FakeTable)]

    def check_unique(self) -> None:
        for table in self.tables():
            table.check_unique()

    def check_references(self, table: FakeTable[Any], row: object) -> None:
        if not self.enforce_references:
            return
        for fk in self.foreign_keys:
            value = getattr(row, fk.column) if fk.table is table else None
            if value is not None and value not in fk.parent:
                raise ForeignKeyViolation(f"{table.name}.{fk.column}: no {fk.parent.name} row {value!r}")

    def new_child_id(self) -> int:
        """An id for a collection's track or collaborator row."""
        return next(self._child_ids)


_Undo = tuple[FakeTable[Any], Any, dict[str, Any], bool]


class FakeSession:
    """One unit of work's view of the database. Remembers, the first time it hands out or changes
    a row, the row's values and whether it was stored, so that ``undo`` can put them back."""

    def __init__(self, database: FakeDatabase) -> None:
        self.database = database
        self._before: dict[int, _Undo] = {}

    def select(self, table: FakeTable[T], where: Where[T] | None = None) -> list[T]:
        rows = [row for row in table.values() if where is None or where(row)]
        for row in rows:
            self.touch(table, row)
        return rows

    def first(self, table: FakeTable[T], where: Where[T]) -> T | None:
        return next(iter(self.select(table, where)), None)

    def get(self, table: FakeTable[T], key: Any) -> T | None:
        row = table.get(key)
        if row is not None:
            self.touch(table, row)
        return row

    def insert(self, table: FakeTable[T], row: T) -> T:
        self.touch(table, row)
        given = _values(row)
        table.fill_defaults(row)
        try:
            self.database.check_references(table, row)
            table.check_unique([row])
        except Exception:
            _assign(row, given)
            raise
        table[table.key_of(row)] = row
        return row

    def update(self, table: FakeTable[T], where: Where[T], **values: Any) -> int:
        rows = self.select(table, where)
        for row in rows:
            for name, value in values.items():
                setattr(row, name, value)
        return len(rows)

    def delete(self, table: FakeTable[T], row: T) -> None:
        """Delete the row and apply the ``ON DELETE`` action of every foreign key to it."""
        self.touch(table, row)
        key = table.key_of(row)
        if table.pop(key, None) is None:
            return
        for fk in self.database.foreign_keys:
            if fk.parent is not table:
                continue
            for child in [child for child in fk.table.values() if getattr(child, fk.column) == key]:
                if fk.on_delete == "cascade":
                    self.delete(fk.table, child)
                else:
                    self.touch(fk.table, child)
                    setattr(child, fk.column, None)
        self._on_delete_children(table, key)

    def _on_delete_children(self, table: FakeTable[Any], key: Any) -> None:
        """The foreign keys of the rows collections hold: ``collection_tracks.audio_file_id``
        (cascade), ``collaborators.user_id`` (cascade), and their ``added_by_id`` (set null)."""
        db = self.database
        if table is not db.audio_files and table is not db.users:
            return
        for collection in list(db.collections.values()):
            self.touch(db.collections, collection)
            if table is db.audio_files:
                collection.tracks[:] = [t for t in collection.tracks if t.audio_file_id != key]
                continue
            collection.collaborators[:] = [c for c in collection.collaborators if c.user_id != key]
            children: list[CollectionTrack | Collaborator] = [*collection.tracks, *collection.collaborators]
            for child in children:
                if child.added_by_id == key:
                    child.added_by_id = None

    def delete_where(self, table: FakeTable[T], where: Where[T]) -> list[T]:
        rows = self.select(table, where)
        for row in rows:
            self.delete(table, row)
        return rows

    def touch(self, table: FakeTable[Any], row: object) -> None:
        if id(row) not in self._before:
            stored = table.get(table.key_of(row)) is row
            self._before[id(row)] = (table, row, _values(row), stored)

    def undo(self) -> None:
        for table, row, values, stored in reversed(self._before.values()):
            if table.get(table.key_of(row)) is row:
                del table[table.key_of(row)]
            _assign(row, values)
            if stored:
                table[table.key_of(row)] = row
        self._before.clear()

    def checkpoint(self) -> None:
        """Make the current values what ``undo`` goes back to (after a commit)."""
        for key, (table, row, _, _) in list(self._before.items()):
            self._before[key] = (table, row, _values(row), table.get(table.key_of(row)) is row)


class _Children(list[tuple[Any, dict[str, Any]]]):
    """A snapshot of a list of child rows: each child and its values."""


def _values(row: Any) -> dict[str, Any]:
    return {f.name: _snapshot(getattr(row, f.name)) for f in fields(row)}


def _snapshot(value: Any) -> Any:
    if isinstance(value, dict):
        return {**value}
    if isinstance(value, list):
        return _Children((item, _values(item) if is_dataclass(item) else {}) for item in value)
    return value


def _assign(row: object, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(row, name, _restore(value))


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        return {**value}
    if isinstance(value, _Children):
        for item, values in value:
            _assign(item, values)
        return [item for item, _ in value]
    return value


def newest(rows: list[T], column: str) -> list[T]:
    """``column`` desc, ``id`` desc."""
    return sorted(rows, key=attrgetter(column, "id"), reverse=True)


def page(rows: list[T], skip: int, limit: int) -> Page[T]:
    return Page(rows[skip : skip + limit], len(rows), skip)


def contains(text: str | None, query: str) -> bool:
    """Case-insensitive substring test (what ``LIKE '%q%'`` on lowered columns does)."""
    return text is not None and query.lower() in text.lower()


class FakeRepository:
    def __init__(self, session: FakeSession) -> None:
        self.session = session
        self.db = session.database

    def _is_active_user(self, user_id: int) -> bool:
        user = self.db.users.get(user_id)
        return user is not None and user.is_active
