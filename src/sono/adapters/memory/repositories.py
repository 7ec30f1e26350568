"""In-memory repositories with the behaviour of the SQL ones, for unit tests.

A ``FakeDatabase`` holds one ``FakeTable`` (a dict by primary key) per SQL table and enforces what
the schema does: ids, the unique constraints (raising ``Conflict`` with the same names), the
``ON DELETE`` actions of the foreign keys (optionally the references themselves) and the
creation-time defaults. Each unit of work reaches it
through a ``FakeSession`` that records the rows it may change so that a rollback can undo them.
Repositories hand out the stored objects themselves: changing one changes the database.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, Literal, TypeAlias, TypeVar

from sono.domain.announcements import Announcement
from sono.domain.collections import Collaborator, Collection, CollectionTrack
from sono.domain.errors import Conflict
from sono.domain.gdpr import AuditEntry, Consent, DeletionRequest
from sono.domain.maintenance import DEFAULT_MESSAGE, MaintenanceState
from sono.domain.media import AudioFile
from sono.domain.sessions import PasswordResetToken, RefreshFamily, RevokedToken
from sono.domain.users import User, normalize_email

T = TypeVar("T")
Page: TypeAlias = tuple[list[T], int]
Where = Callable[[T], bool]


class ForeignKeyViolation(Exception):
    """A row points at a parent that does not exist (the SQL adapter raises ``IntegrityError``)."""


@dataclass(frozen=True)
class Unique:
    """A unique constraint; ``key`` returns None for rows it does not cover (a partial index)."""

    name: str
    key: Callable[[Any], Hashable | None]


class FakeTable(dict[Any, T]):
    """The rows of one table by primary key."""

    def __init__(
        self, name: str, *, key: str = "id", unique: Sequence[Unique] = (), created: str | None = None
    ) -> None:
        super().__init__()
        self.name = name
        self.key = key
        self.unique = (Unique(f"pk_{name}", attrgetter(key)), *unique)
        self.created = created  # the column the database fills with "now" when left empty
        self._ids = itertools.count(1)

    def key_of(self, row: T) -> Any:
        return getattr(row, self.key)

    def fill_defaults(self, row: T) -> None:
        if self.key == "id" and getattr(row, "id", None) is None:
            row.id = next(id_ for id_ in self._ids if id_ not in self)  # type: ignore[attr-defined]
        if self.created and getattr(row, self.created) is None:
            setattr(row, self.created, datetime.now(UTC))

    def check_unique(self, candidates: Iterable[T] | None = None) -> None:
        """Raise ``Conflict`` when a candidate (by default every row) shares a key with another row."""
        for constraint in self.unique:
            owners: dict[Hashable, T] = {}
            for row in self.values():
                key = constraint.key(row)
                if key is not None:
                    owners.setdefault(key, row)
            for row in self.values() if candidates is None else candidates:
                key = constraint.key(row)
                if key is not None and owners.get(key, row) is not row:
                    raise Conflict(constraint=constraint.name)


@dataclass
class MaintenanceRow:
    """The ``maintenance_state`` row (``MaintenanceState`` is frozen)."""

    id: int = 1
    enabled: bool = False
    message: str = DEFAULT_MESSAGE
    updated_at: datetime | None = None
    updated_by_id: int | None = None


@dataclass(frozen=True)
class ForeignKey:
    table: FakeTable[Any]
    column: str
    parent: FakeTable[Any]
    on_delete: Literal["cascade", "set null"]


class FakeDatabase:
    """Every table, shared by the units of work of one ``FakeUnitOfWorkFactory``.

    ``check_references`` makes inserts refuse rows that point at missing parents, as the database
    does (off by default, so that tests may use ids of rows they did not create)."""

    def __init__(self, *, check_references: bool = False) -> None:
        self.enforce_references = check_references
        self.users = FakeTable[User](
            "users",
            unique=[
                Unique("uq_users_email_lower", lambda user: user.email.lower()),
                Unique("uq_users_username", attrgetter("username")),
            ],
            created="created_at",
        )
        self.families = FakeTable[RefreshFamily]("refresh_families")
        self.revoked_tokens = FakeTable[RevokedToken]("revoked_tokens", key="jti")
        self.reset_tokens = FakeTable[PasswordResetToken](
            "password_reset_tokens", unique=[Unique("uq_password_reset_tokens_token_hash", attrgetter("token_hash"))]
        )
        self.consents = FakeTable[Consent]("consents")
        self.deletions = FakeTable[DeletionRequest](
            "deletion_requests",
            unique=[Unique("uq_deletion_requests_pending", lambda r: r.user_id if r.is_pending else None)],
        )
        self.audit = FakeTable[AuditEntry]("audit_log")
        self.audio_files = FakeTable[AudioFile]("audio_files", created="upload_date")
        self.collections = FakeTable[Collection]("collections", created="created_date")
        self.tracks = FakeTable[CollectionTrack](
            "collection_tracks",
            unique=[
                Unique(
                    "uq_collection_tracks_collection_id_audio_file_id", attrgetter("collection_id", "audio_file_id")
                ),
                Unique("uq_collection_tracks_collection_id_track_order", attrgetter("collection_id", "track_order")),
            ],
            created="added_date",
        )
        self.collaborators = FakeTable[Collaborator](
            "collaborators",
            unique=[Unique("uq_collaborators_collection_id_user_id", attrgetter("collection_id", "user_id"))],
            created="added_date",
        )
        self.announcements = FakeTable[Announcement]("announcements", created="created_date")
        self.maintenance = FakeTable[MaintenanceRow]("maintenance_state")

        def fk(table: FakeTable[Any], column: str, parent: FakeTable[Any] | None = None) -> ForeignKey:
            return ForeignKey(table, column, self.users if parent is None else parent, "cascade")

        def fk_set_null(table: FakeTable[Any], column: str) -> ForeignKey:
            return ForeignKey(table, column, self.users, "set null")

        self.foreign_keys = (
            fk(self.families, "user_id"),
            fk(self.revoked_tokens, "user_id"),
            fk(self.reset_tokens, "user_id"),
            fk(self.consents, "user_id"),
            fk(self.deletions, "user_id"),
            fk_set_null(self.audit, "user_id"),
            fk_set_null(self.audit, "actor_id"),
            fk(self.audio_files, "owner_id"),
            fk(self.collections, "owner_id"),
            fk(self.tracks, "collection_id", self.collections),
            fk(self.tracks, "audio_file_id", self.audio_files),
            fk_set_null(self.tracks, "added_by_id"),
            fk(self.collaborators, "collection_id", self.collections),
            fk(self.collaborators, "user_id"),
            fk_set_null(self.collaborators, "added_by_id"),
            fk_set_null(self.announcements, "created_by_id"),
            fk_set_null(self.maintenance, "updated_by_id"),
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
            _assign(row, values)
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


def _values(row: Any) -> dict[str, Any]:
    return {f.name: _copy(getattr(row, f.name)) for f in fields(row)}


def _assign(row: object, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(row, name, _copy(value))


def _copy(value: Any) -> Any:
    return {**value} if isinstance(value, dict) else value


def _newest(rows: list[T], column: str) -> list[T]:
    """``column`` desc, ``id`` desc."""
    return sorted(rows, key=attrgetter(column, "id"), reverse=True)


def _page(rows: list[T], skip: int, limit: int) -> Page[T]:
    return rows[skip : skip + limit], len(rows)


class _Repository:
    def __init__(self, session: FakeSession) -> None:
        self.session = session
        self.db = session.database

    def _is_active_user(self, user_id: int) -> bool:
        user = self.db.users.get(user_id)
        return user is not None and user.is_active


# --------------------------------------------------------------------------- accounts


class FakeUserRepository(_Repository):
    async def add(self, user: User) -> User:
        return self.session.insert(self.db.users, user)

    async def get(self, user_id: int) -> User | None:
        return self.session.get(self.db.users, user_id)

    async def get_for_update(self, user_id: int) -> User | None:
        return self.session.get(self.db.users, user_id)

    async def get_by_username(self, username: str) -> User | None:
        return self.session.first(self.db.users, lambda user: user.username == username)

    async def get_by_email(self, email: str) -> User | None:
        wanted = normalize_email(email)
        return self.session.first(self.db.users, lambda user: user.email.lower() == wanted)

    async def get_by_login(self, login: str) -> User | None:
        return await self.get_by_username(login) or await self.get_by_email(login)

    async def delete(self, user: User) -> None:
        self.session.delete(self.db.users, user)

    async def list(self, *, skip: int, limit: int) -> Page[User]:
        return _page(_newest(self.session.select(self.db.users), "created_at"), skip, limit)


class FakeRefreshFamilyRepository(_Repository):
    async def add(self, family: RefreshFamily) -> None:
        self.session.insert(self.db.families, family)

    async def get(self, family_id: str) -> RefreshFamily | None:
        return self.session.get(self.db.families, family_id)

    async def rotate(self, family_id: str, old_jti: str, new_jti: str, now: datetime) -> bool:
        def current(family: RefreshFamily) -> bool:
            return family.id == family_id and family.current_jti == old_jti and family.revoked_at is None

        return self.session.update(self.db.families, current, current_jti=new_jti, last_rotated_at=now) == 1

    async def revoke_all_for_user(self, user_id: int, now: datetime, reason: str) -> int:
        def live(family: RefreshFamily) -> bool:
            return family.user_id == user_id and family.revoked_at is None

        return self.session.update(self.db.families, live, revoked_at=now, revoked_reason=reason)

    async def delete_expired(self, now: datetime) -> int:
        return len(self.session.delete_where(self.db.families, lambda family: family.expires_at < now))


class FakeRevokedTokenRepository(_Repository):
    async def add(self, token: RevokedToken) -> None:
        if token.jti not in self.db.revoked_tokens:
            self.session.insert(self.db.revoked_tokens, token)

    async def is_revoked(self, jti: str) -> bool:
        return jti in self.db.revoked_tokens

    async def delete_expired(self, now: datetime) -> int:
        return len(self.session.delete_where(self.db.revoked_tokens, lambda token: token.expires_at < now))


class FakeResetTokenRepository(_Repository):
    async def add(self, token: PasswordResetToken) -> PasswordResetToken:
        return self.session.insert(self.db.reset_tokens, token)

    async def get_by_hash(self, token_hash: str) -> PasswordResetToken | None:
        return self.session.first(self.db.reset_tokens, lambda token: token.token_hash == token_hash)

    async def consume(self, token_id: int, now: datetime) -> bool:
        def unused(token: PasswordResetToken) -> bool:
            return token.id == token_id and token.used_at is None

        return self.session.update(self.db.reset_tokens, unused, used_at=now) == 1

    async def invalidate_for_user(self, user_id: int, now: datetime) -> int:
        def unused(token: PasswordResetToken) -> bool:
            return token.user_id == user_id and token.used_at is None

        return self.session.update(self.db.reset_tokens, unused, used_at=now)

    async def delete_expired(self, now: datetime) -> int:
        def spent(token: PasswordResetToken) -> bool:
            return token.expires_at < now or (token.used_at is not None and token.used_at < now)

        return len(self.session.delete_where(self.db.reset_tokens, spent))


# --------------------------------------------------------------------------- GDPR


class FakeConsentRepository(_Repository):
    async def add(self, consent: Consent) -> Consent:
        return self.session.insert(self.db.consents, consent)

    async def list_for_user(self, user_id: int) -> list[Consent]:
        return _newest(self.session.select(self.db.consents, lambda c: c.user_id == user_id), "given_at")

    async def active_of_type(self, user_id: int, consent_type: str) -> list[Consent]:
        def active(consent: Consent) -> bool:
            return consent.user_id == user_id and consent.consent_type == consent_type and consent.is_active

        return _newest(self.session.select(self.db.consents, active), "given_at")


class FakeDeletionRequestRepository(_Repository):
    async def add(self, request: DeletionRequest) -> DeletionRequest:
        return self.session.insert(self.db.deletions, request)

    async def pending_for_user(self, user_id: int) -> DeletionRequest | None:
        return self.session.first(self.db.deletions, lambda r: r.user_id == user_id and r.is_pending)

    async def latest_for_user(self, user_id: int) -> DeletionRequest | None:
        return next(iter(await self.list_for_user(user_id)), None)

    async def list_for_user(self, user_id: int) -> list[DeletionRequest]:
        return _newest(self.session.select(self.db.deletions, lambda r: r.user_id == user_id), "requested_at")

    async def claim_due(self, now: datetime, limit: int) -> list[DeletionRequest]:
        due = self.session.select(self.db.deletions, lambda request: request.is_due(now))
        return sorted(due, key=attrgetter("scheduled_for", "id"))[:limit]


class FakeAuditLogRepository(_Repository):
    async def add(self, entry: AuditEntry) -> None:
        self.session.insert(self.db.audit, entry)

    async def list_for_user(self, user_id: int) -> list[AuditEntry]:
        def about_or_by(entry: AuditEntry) -> bool:
            return user_id in (entry.user_id, entry.actor_id)

        return _newest(self.session.select(self.db.audit, about_or_by), "created_at")

    async def anonymise_user(self, user_id: int) -> None:
        personal: dict[str, Any] = {"ip_address": None, "details": {}}
        self.session.update(self.db.audit, lambda entry: entry.user_id == user_id, user_id=None, **personal)
        self.session.update(self.db.audit, lambda entry: entry.actor_id == user_id, actor_id=None, **personal)


# --------------------------------------------------------------------------- media and collections


class FakeAudioFileRepository(_Repository):
    async def add(self, audio: AudioFile) -> AudioFile:
        return self.session.insert(self.db.audio_files, audio)

    async def get(self, audio_id: int) -> AudioFile | None:
        return self.session.get(self.db.audio_files, audio_id)

    async def list_for_owner(self, owner_id: int, *, skip: int, limit: int) -> Page[AudioFile]:
        return _page(self._newest(lambda audio: audio.owner_id == owner_id), skip, limit)

    async def list_public(self, *, skip: int, limit: int) -> Page[AudioFile]:
        return _page(self._newest(lambda audio: audio.is_public and self._is_active_user(audio.owner_id)), skip, limit)

    async def list_all(self, *, skip: int, limit: int) -> Page[AudioFile]:
        return _page(self._newest(), skip, limit)

    async def count_for_owner(self, owner_id: int) -> int:
        return len(self._of(owner_id))

    async def total_bytes_for_owner(self, owner_id: int) -> int:
        return sum(audio.file_size for audio in self._of(owner_id))

    async def storage_keys_for_owner(self, owner_id: int) -> list[str]:
        return [audio.storage_key for audio in sorted(self._of(owner_id), key=attrgetter("id"))]

    async def get_many(self, audio_ids: Sequence[int]) -> dict[int, AudioFile]:
        wanted = set(audio_ids)
        found = self.session.select(self.db.audio_files, lambda audio: audio.id in wanted)
        return {audio.id: audio for audio in found if audio.id is not None}

    async def delete(self, audio: AudioFile) -> None:
        self.session.delete(self.db.audio_files, audio)

    async def delete_for_owner(self, owner_id: int) -> list[str]:
        deleted = self.session.delete_where(self.db.audio_files, lambda audio: audio.owner_id == owner_id)
        return [audio.storage_key for audio in deleted]

    def _of(self, owner_id: int) -> list[AudioFile]:
        return [audio for audio in self.db.audio_files.values() if audio.owner_id == owner_id]

    def _newest(self, where: Where[AudioFile] | None = None) -> list[AudioFile]:
        return _newest(self.session.select(self.db.audio_files, where), "upload_date")


class FakeCollectionRepository(_Repository):
    async def add(self, collection: Collection) -> Collection:
        return self.session.insert(self.db.collections, collection)

    async def get(self, collection_id: int) -> Collection | None:
        return self.session.get(self.db.collections, collection_id)

    async def get_for_update(self, collection_id: int) -> Collection | None:
        return self.session.get(self.db.collections, collection_id)

    async def list_visible(
        self,
        *,
        viewer_id: int | None,
        viewer_is_admin: bool,
        public_only: bool,
        collection_type: str | None,
        skip: int,
        limit: int,
    ) -> Page[Collection]:
        sees_all = viewer_is_admin and viewer_id is not None and not public_only
        members = {c.collection_id for c in self.db.collaborators.values() if c.user_id == viewer_id}

        def visible(collection: Collection) -> bool:
            if collection_type is not None and collection.collection_type != collection_type:
                return False
            if sees_all or (collection.is_public and self._is_active_user(collection.owner_id)):
                return True
            mine = collection.owner_id == viewer_id or collection.id in members
            return not public_only and viewer_id is not None and mine

        return _page(self._newest(visible), skip, limit)

    async def list_for_owner(self, owner_id: int, *, skip: int, limit: int) -> Page[Collection]:
        return _page(self._newest(lambda collection: collection.owner_id == owner_id), skip, limit)

    async def list_for_member(self, user_id: int) -> list[Collection]:
        member_of = {c.collection_id for c in self.db.collaborators.values() if c.user_id == user_id}
        return self._newest(lambda collection: collection.id in member_of)

    async def cover_keys_for_owner(self, owner_id: int) -> list[str]:
        owned = sorted(self.db.collections.values(), key=attrgetter("id"))
        return [c.cover_art_key for c in owned if c.owner_id == owner_id and c.cover_art_key is not None]

    async def delete(self, collection: Collection) -> None:
        self.session.delete(self.db.collections, collection)

    async def delete_for_owner(self, owner_id: int) -> list[str]:
        deleted = self.session.delete_where(self.db.collections, lambda collection: collection.owner_id == owner_id)
        return [c.cover_art_key for c in deleted if c.cover_art_key is not None]

    def _newest(self, where: Where[Collection]) -> list[Collection]:
        return _newest(self.session.select(self.db.collections, where), "created_date")

    # tracks

    async def tracks(self, collection_id: int) -> list[CollectionTrack]:
        entries = self.session.select(self.db.tracks, lambda track: track.collection_id == collection_id)
        return sorted(entries, key=attrgetter("track_order"))

    async def add_track(self, track: CollectionTrack) -> CollectionTrack:
        return self.session.insert(self.db.tracks, track)

    async def delete_track(self, track: CollectionTrack) -> None:
        self.session.delete(self.db.tracks, track)

    async def set_track_orders(self, collection_id: int, order: Sequence[int]) -> None:
        tracks = {track.id: track for track in await self.tracks(collection_id)}
        if len(order) != len(tracks) or set(order) != tracks.keys():
            raise ValueError("order must list every track of the collection once")
        for position, track_id in enumerate(order, start=1):
            tracks[track_id].track_order = position

    async def collection_ids_with_audio(self, audio_id: int) -> list[int]:
        return sorted({track.collection_id for track in self.db.tracks.values() if track.audio_file_id == audio_id})

    async def stats_for(self, collection_ids: Sequence[int]) -> dict[int, tuple[int, float]]:
        stats = dict.fromkeys(collection_ids, (0, 0.0))
        for track in self.db.tracks.values():
            if track.collection_id in stats:
                count, duration = stats[track.collection_id]
                audio = self.db.audio_files[track.audio_file_id]
                stats[track.collection_id] = (count + 1, duration + (audio.duration or 0.0))
        return stats

    # collaborators

    async def collaborators(self, collection_id: int) -> list[Collaborator]:
        members = self.session.select(self.db.collaborators, lambda c: c.collection_id == collection_id)
        return sorted(members, key=attrgetter("added_date", "id"))

    async def get_collaborator(self, collection_id: int, user_id: int) -> Collaborator | None:
        return self.session.first(
            self.db.collaborators, lambda c: c.collection_id == collection_id and c.user_id == user_id
        )

    async def add_collaborator(self, collaborator: Collaborator) -> Collaborator:
        return self.session.insert(self.db.collaborators, collaborator)

    async def delete_collaborator(self, collaborator: Collaborator) -> None:
        self.session.delete(self.db.collaborators, collaborator)


# --------------------------------------------------------------------------- admin


class FakeAnnouncementRepository(_Repository):
    async def add(self, announcement: Announcement) -> Announcement:
        return self.session.insert(self.db.announcements, announcement)

    async def get(self, announcement_id: int) -> Announcement | None:
        return self.session.get(self.db.announcements, announcement_id)

    async def delete(self, announcement: Announcement) -> None:
        self.session.delete(self.db.announcements, announcement)

    async def list(self, *, published_only: bool, skip: int, limit: int) -> Page[Announcement]:
        if published_only:
            published = self.session.select(self.db.announcements, attrgetter("is_published"))
            return _page(_newest(published, "published_date"), skip, limit)
        return _page(_newest(self.session.select(self.db.announcements), "created_date"), skip, limit)


class FakeMaintenanceRepository(_Repository):
    async def get(self) -> MaintenanceState:
        row = self.db.maintenance.get(1)
        if row is None:
            return MaintenanceState()
        return MaintenanceState(**{f.name: getattr(row, f.name) for f in fields(MaintenanceState)})

    async def set(self, state: MaintenanceState) -> None:
        row = self.session.get(self.db.maintenance, 1)
        if row is None:
            self.session.insert(self.db.maintenance, MaintenanceRow(**asdict(state)))
        else:
            _assign(row, asdict(state))
