"""SQL implementations of the repository ports over one ``AsyncSession``.

Queries filter on the Core columns (``users.c.email``) and load the mapped domain classes. Bulk
``UPDATE``/``DELETE`` statements go through the ORM with ``synchronize_session="fetch"`` so that the
objects already in the session see the new values (they only ever set literal values: an expression
would expire the attribute, and a lazy load is not possible under asyncio).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from typing import Any, TypeAlias, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Delete,
    FromClause,
    Select,
    Table,
    UnaryExpression,
    UniqueConstraint,
    Update,
    case,
    delete,
    exists,
    func,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, object_mapper
from sqlalchemy.orm.attributes import set_committed_value

from sono.adapters.sqlalchemy.tables import (
    announcements,
    audio_files,
    audit_log,
    collaborators,
    collection_tracks,
    collections,
    consents,
    deletion_requests,
    maintenance_state,
    metadata,
    password_reset_tokens,
    refresh_families,
    revoked_tokens,
    users,
)
from sono.domain.announcements import Announcement
from sono.domain.collections import Collaborator, Collection, CollectionTrack
from sono.domain.errors import Conflict
from sono.domain.gdpr import AuditEntry, Consent, DeletionRequest, DeletionStatus
from sono.domain.maintenance import MaintenanceState
from sono.domain.media import AudioFile
from sono.domain.sessions import PasswordResetToken, RefreshFamily, RevokedToken
from sono.domain.users import User, normalize_email

T = TypeVar("T")
Page: TypeAlias = tuple[list[T], int]

# --------------------------------------------------------------------------- unique violations

_PG_UNIQUE_VIOLATION = "23505"
_SQLITE_UNIQUE = "UNIQUE constraint failed: "


def _sqlite_unique_names() -> dict[str, str]:
    """SQLite reports the columns of a violated constraint (``users.username``), not its name;
    map the columns of every primary key, unique constraint and unique index back to the name.
    (A violated expression index is reported by name: ``index 'uq_users_email_lower'``.)"""
    names: dict[str, str] = {}
    for table in metadata.tables.values():
        constraints: list[Any] = [table.primary_key]
        constraints += [c for c in table.constraints if isinstance(c, UniqueConstraint)]
        constraints += [i for i in table.indexes if i.unique]
        for constraint in constraints:
            columns = ", ".join(f"{table.name}.{column.name}" for column in constraint.columns)
            if columns:
                names[columns] = str(constraint.name)
    return names


_SQLITE_UNIQUE_NAMES = _sqlite_unique_names()


def conflict_for(error: IntegrityError) -> Conflict | None:
    """The ``Conflict`` naming the violated unique constraint; None for other integrity errors."""
    cause = error.orig
    if getattr(cause, "sqlstate", None) == _PG_UNIQUE_VIOLATION:  # asyncpg
        return Conflict(constraint=getattr(getattr(cause, "__cause__", None), "constraint_name", None))
    message = str(cause)
    if not message.startswith(_SQLITE_UNIQUE):
        return None
    violated = message.removeprefix(_SQLITE_UNIQUE).strip()
    if violated.startswith("index '"):
        return Conflict(constraint=violated.removeprefix("index '").rstrip("'"))
    return Conflict(constraint=_SQLITE_UNIQUE_NAMES.get(violated))


@contextmanager
def unique_violations_as_conflict() -> Iterator[None]:
    try:
        yield
    except IntegrityError as error:
        conflict = conflict_for(error)
        if conflict is None:
            raise
        raise conflict from error


# --------------------------------------------------------------------------- helpers


def _newest(*columns: ColumnElement[Any]) -> tuple[UnaryExpression[Any], ...]:
    return tuple(column.desc() for column in columns)


def _apply_on_delete(session: Session, table: FromClause, key: tuple[Any, ...] | None) -> None:
    """Do to the objects the session holds what the database's ``ON DELETE`` actions did to their
    rows once the row ``key`` of ``table`` was deleted: forget them (CASCADE, recursively) or
    clear the reference (SET NULL). Otherwise ``get`` could return a row that is gone."""
    if key is None:
        return
    for instance in list(session.identity_map.values()):
        state = inspect(instance)
        child_table = state.mapper.local_table
        for fk in child_table.foreign_keys:
            if fk.column.table is not table or state.dict.get(fk.parent.key) != key[0]:
                continue
            if fk.ondelete == "CASCADE":
                session.expunge(instance)
                _apply_on_delete(session, child_table, state.identity)
            elif fk.ondelete == "SET NULL":
                set_committed_value(instance, fk.parent.key, None)


class _Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _first(self, statement: Select[T]) -> T | None:
        return (await self.session.scalars(statement.limit(1))).first()

    async def _all(self, statement: Select[T]) -> list[T]:
        return list(await self.session.scalars(statement))

    async def _page(self, statement: Select[T], order: Sequence[Any], skip: int, limit: int) -> Page[T]:
        items = await self._all(statement.order_by(*order).offset(skip).limit(limit))
        if len(items) < limit and (items or skip == 0):  # the last page: no need to count
            return items, skip + len(items)
        return items, await self._count(statement)

    async def _count(self, statement: Select[Any]) -> int:
        return await self.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0

    async def _insert(self, instance: T, *, may_conflict: bool = False) -> T:
        """Insert now, assigning the id. Inside a savepoint when a unique constraint may be
        violated, so that the ``Conflict`` leaves the rest of the unit of work intact."""
        with unique_violations_as_conflict():
            if may_conflict:
                async with self.session.begin_nested():
                    self.session.add(instance)
            else:
                self.session.add(instance)
                await self.session.flush()
        return instance

    async def _delete(self, instance: object) -> None:
        key = inspect(instance).identity
        await self.session.delete(instance)
        await self.session.flush()
        _apply_on_delete(self.session.sync_session, object_mapper(instance).local_table, key)

    async def _bulk(self, statement: Update | Delete) -> int:
        """Run an ORM-enabled bulk UPDATE or DELETE; the number of rows it matched."""
        result = await self.session.execute(statement.execution_options(synchronize_session="fetch"))
        return cast(CursorResult[Any], result).rowcount

    def _insert_statement(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        """The dialect's ``INSERT`` (both have ``on_conflict_do_nothing``/``_do_update``)."""
        dialect = self.session.get_bind().dialect.name
        return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


# --------------------------------------------------------------------------- accounts


class SqlUserRepository(_Repository):
    async def add(self, user: User) -> User:
        return await self._insert(user, may_conflict=True)

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_for_update(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id, with_for_update=True, populate_existing=True)

    async def get_by_username(self, username: str) -> User | None:
        return await self._first(select(User).where(users.c.username == username))

    async def get_by_email(self, email: str) -> User | None:
        return await self._first(select(User).where(func.lower(users.c.email) == normalize_email(email)))

    async def get_by_login(self, login: str) -> User | None:
        by_username = users.c.username == login
        by_email = func.lower(users.c.email) == normalize_email(login)
        username_first = case((by_username, 0), else_=1)
        return await self._first(select(User).where(or_(by_username, by_email)).order_by(username_first))

    async def delete(self, user: User) -> None:
        await self._delete(user)

    async def list(self, *, skip: int, limit: int) -> Page[User]:
        return await self._page(select(User), _newest(users.c.created_at, users.c.id), skip, limit)


class SqlRefreshFamilyRepository(_Repository):
    async def add(self, family: RefreshFamily) -> None:
        self.session.add(family)

    async def get(self, family_id: str) -> RefreshFamily | None:
        return await self.session.get(RefreshFamily, family_id)

    async def rotate(self, family_id: str, old_jti: str, new_jti: str, now: datetime) -> bool:
        current = (
            refresh_families.c.id == family_id,
            refresh_families.c.current_jti == old_jti,
            refresh_families.c.revoked_at.is_(None),
        )
        statement = update(RefreshFamily).where(*current).values(current_jti=new_jti, last_rotated_at=now)
        return await self._bulk(statement) == 1

    async def revoke_all_for_user(self, user_id: int, now: datetime, reason: str) -> int:
        live = (refresh_families.c.user_id == user_id, refresh_families.c.revoked_at.is_(None))
        return await self._bulk(update(RefreshFamily).where(*live).values(revoked_at=now, revoked_reason=reason))

    async def delete_expired(self, now: datetime) -> int:
        return await self._bulk(delete(RefreshFamily).where(refresh_families.c.expires_at < now))


class SqlRevokedTokenRepository(_Repository):
    async def add(self, token: RevokedToken) -> None:
        values = {"jti": token.jti, "expires_at": token.expires_at, "user_id": token.user_id}
        await self.session.execute(self._insert_statement(revoked_tokens).values(values).on_conflict_do_nothing())

    async def is_revoked(self, jti: str) -> bool:
        return bool(await self.session.scalar(select(exists().where(revoked_tokens.c.jti == jti))))

    async def delete_expired(self, now: datetime) -> int:
        return await self._bulk(delete(RevokedToken).where(revoked_tokens.c.expires_at < now))


class SqlResetTokenRepository(_Repository):
    async def add(self, token: PasswordResetToken) -> PasswordResetToken:
        return await self._insert(token, may_conflict=True)

    async def get_by_hash(self, token_hash: str) -> PasswordResetToken | None:
        return await self._first(select(PasswordResetToken).where(password_reset_tokens.c.token_hash == token_hash))

    async def consume(self, token_id: int, now: datetime) -> bool:
        unused = (password_reset_tokens.c.id == token_id, password_reset_tokens.c.used_at.is_(None))
        return await self._bulk(update(PasswordResetToken).where(*unused).values(used_at=now)) == 1

    async def invalidate_for_user(self, user_id: int, now: datetime) -> int:
        unused = (password_reset_tokens.c.user_id == user_id, password_reset_tokens.c.used_at.is_(None))
        return await self._bulk(update(PasswordResetToken).where(*unused).values(used_at=now))

    async def delete_expired(self, now: datetime) -> int:
        spent = or_(password_reset_tokens.c.expires_at < now, password_reset_tokens.c.used_at < now)
        return await self._bulk(delete(PasswordResetToken).where(spent))


# --------------------------------------------------------------------------- GDPR


class SqlConsentRepository(_Repository):
    _newest_first = _newest(consents.c.given_at, consents.c.id)

    async def add(self, consent: Consent) -> Consent:
        return await self._insert(consent)

    async def list_for_user(self, user_id: int) -> list[Consent]:
        return await self._all(select(Consent).where(consents.c.user_id == user_id).order_by(*self._newest_first))

    async def active_of_type(self, user_id: int, consent_type: str) -> list[Consent]:
        active = (
            consents.c.user_id == user_id,
            consents.c.consent_type == consent_type,
            consents.c.withdrawn_at.is_(None),
        )
        return await self._all(select(Consent).where(*active).order_by(*self._newest_first))


class SqlDeletionRequestRepository(_Repository):
    _newest_first = _newest(deletion_requests.c.requested_at, deletion_requests.c.id)

    async def add(self, request: DeletionRequest) -> DeletionRequest:
        return await self._insert(request, may_conflict=True)

    async def pending_for_user(self, user_id: int) -> DeletionRequest | None:
        pending = (deletion_requests.c.user_id == user_id, deletion_requests.c.status == DeletionStatus.PENDING)
        return await self._first(select(DeletionRequest).where(*pending))

    async def latest_for_user(self, user_id: int) -> DeletionRequest | None:
        return await self._first(self._of_user(user_id))

    async def list_for_user(self, user_id: int) -> list[DeletionRequest]:
        return await self._all(self._of_user(user_id))

    async def claim_due(self, now: datetime, limit: int) -> list[DeletionRequest]:
        due = (deletion_requests.c.status == DeletionStatus.PENDING, deletion_requests.c.scheduled_for <= now)
        statement = (
            select(DeletionRequest)
            .where(*due)
            .order_by(deletion_requests.c.scheduled_for, deletion_requests.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return await self._all(statement)

    def _of_user(self, user_id: int) -> Select[DeletionRequest]:
        return select(DeletionRequest).where(deletion_requests.c.user_id == user_id).order_by(*self._newest_first)


class SqlAuditLogRepository(_Repository):
    async def add(self, entry: AuditEntry) -> None:
        self.session.add(entry)

    async def list_for_user(self, user_id: int) -> list[AuditEntry]:
        statement = (
            select(AuditEntry)
            .where(or_(audit_log.c.user_id == user_id, audit_log.c.actor_id == user_id))
            .order_by(*_newest(audit_log.c.created_at, audit_log.c.id))
        )
        return await self._all(statement)

    async def anonymise_user(self, user_id: int) -> None:
        personal: dict[str, Any] = {"ip_address": None, "details": {}}
        for column in (audit_log.c.user_id, audit_log.c.actor_id):
            await self._bulk(update(AuditEntry).where(column == user_id).values({column.key: None, **personal}))


# --------------------------------------------------------------------------- media and collections


class SqlAudioFileRepository(_Repository):
    _newest_first = _newest(audio_files.c.upload_date, audio_files.c.id)

    async def add(self, audio: AudioFile) -> AudioFile:
        return await self._insert(audio)

    async def get(self, audio_id: int) -> AudioFile | None:
        return await self.session.get(AudioFile, audio_id)

    async def list_for_owner(self, owner_id: int, *, skip: int, limit: int) -> Page[AudioFile]:
        statement = select(AudioFile).where(audio_files.c.owner_id == owner_id)
        return await self._page(statement, self._newest_first, skip, limit)

    async def list_public(self, *, skip: int, limit: int) -> Page[AudioFile]:
        statement = (
            select(AudioFile)
            .join(users, users.c.id == audio_files.c.owner_id)
            .where(audio_files.c.is_public, users.c.is_active)
        )
        return await self._page(statement, self._newest_first, skip, limit)

    async def list_all(self, *, skip: int, limit: int) -> Page[AudioFile]:
        return await self._page(select(AudioFile), self._newest_first, skip, limit)

    async def count_for_owner(self, owner_id: int) -> int:
        count = select(func.count()).select_from(audio_files).where(audio_files.c.owner_id == owner_id)
        return await self.session.scalar(count) or 0

    async def total_bytes_for_owner(self, owner_id: int) -> int:
        total = select(func.coalesce(func.sum(audio_files.c.file_size), 0)).where(audio_files.c.owner_id == owner_id)
        return int(await self.session.scalar(total) or 0)

    async def storage_keys_for_owner(self, owner_id: int) -> list[str]:
        keys = select(audio_files.c.storage_key).where(audio_files.c.owner_id == owner_id).order_by(audio_files.c.id)
        return list(await self.session.scalars(keys))

    async def get_many(self, audio_ids: Sequence[int]) -> dict[int, AudioFile]:
        if not audio_ids:
            return {}
        found = await self._all(select(AudioFile).where(audio_files.c.id.in_(audio_ids)))
        return {audio.id: audio for audio in found if audio.id is not None}

    async def delete(self, audio: AudioFile) -> None:
        await self._delete(audio)

    async def delete_for_owner(self, owner_id: int) -> list[str]:
        statement = delete(AudioFile).where(audio_files.c.owner_id == owner_id).returning(audio_files.c.storage_key)
        result = await self.session.execute(statement.execution_options(synchronize_session="fetch"))
        return list(result.scalars())


class SqlCollectionRepository(_Repository):
    _newest_first = _newest(collections.c.created_date, collections.c.id)

    async def add(self, collection: Collection) -> Collection:
        return await self._insert(collection)

    async def get(self, collection_id: int) -> Collection | None:
        return await self.session.get(Collection, collection_id)

    async def get_for_update(self, collection_id: int) -> Collection | None:
        return await self.session.get(Collection, collection_id, with_for_update=True, populate_existing=True)

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
        """Public collections of active owners; unless ``public_only``, also the viewer's own and
        those they collaborate on (an admin sees every collection)."""
        statement = select(Collection)
        if collection_type is not None:
            statement = statement.where(collections.c.collection_type == collection_type)
        sees_everything = viewer_is_admin and viewer_id is not None and not public_only
        if not sees_everything:
            statement = statement.join(users, users.c.id == collections.c.owner_id)
            visible: ColumnElement[bool] = collections.c.is_public & users.c.is_active
            if not public_only and viewer_id is not None:
                member = exists().where(
                    collaborators.c.collection_id == collections.c.id, collaborators.c.user_id == viewer_id
                )
                visible = or_(visible, collections.c.owner_id == viewer_id, member)
            statement = statement.where(visible)
        return await self._page(statement, self._newest_first, skip, limit)

    async def list_for_owner(self, owner_id: int, *, skip: int, limit: int) -> Page[Collection]:
        statement = select(Collection).where(collections.c.owner_id == owner_id)
        return await self._page(statement, self._newest_first, skip, limit)

    async def list_for_member(self, user_id: int) -> list[Collection]:
        statement = (
            select(Collection)
            .join(collaborators, collaborators.c.collection_id == collections.c.id)
            .where(collaborators.c.user_id == user_id)
            .order_by(*self._newest_first)
        )
        return await self._all(statement)

    async def cover_keys_for_owner(self, owner_id: int) -> list[str]:
        keys = (
            select(collections.c.cover_art_key)
            .where(collections.c.owner_id == owner_id, collections.c.cover_art_key.is_not(None))
            .order_by(collections.c.id)
        )
        return [key for key in await self.session.scalars(keys) if key is not None]

    async def delete(self, collection: Collection) -> None:
        await self._delete(collection)

    async def delete_for_owner(self, owner_id: int) -> list[str]:
        statement = delete(Collection).where(collections.c.owner_id == owner_id).returning(collections.c.cover_art_key)
        result = await self.session.execute(statement.execution_options(synchronize_session="fetch"))
        return [key for key in result.scalars() if key is not None]

    # tracks

    async def tracks(self, collection_id: int) -> list[CollectionTrack]:
        statement = (
            select(CollectionTrack)
            .where(collection_tracks.c.collection_id == collection_id)
            .order_by(collection_tracks.c.track_order)
            .execution_options(populate_existing=True)
        )
        return await self._all(statement)

    async def add_track(self, track: CollectionTrack) -> CollectionTrack:
        return await self._insert(track, may_conflict=True)

    async def delete_track(self, track: CollectionTrack) -> None:
        await self._delete(track)

    async def set_track_orders(self, collection_id: int, order: Sequence[int]) -> None:
        """Two passes (to ``-position``, then to ``position``) keep ``(collection_id,
        track_order)`` unique after every row, which is when PostgreSQL and SQLite check it."""
        tracks = {track.id: track for track in await self.tracks(collection_id)}
        if len(order) != len(tracks) or set(order) != tracks.keys():
            raise ValueError("order must list every track of the collection once")
        for sign in (-1, 1):
            for position, track_id in enumerate(order, start=1):
                tracks[track_id].track_order = sign * position
            await self.session.flush()

    async def collection_ids_with_audio(self, audio_id: int) -> list[int]:
        statement = (
            select(collection_tracks.c.collection_id)
            .where(collection_tracks.c.audio_file_id == audio_id)
            .distinct()
            .order_by(collection_tracks.c.collection_id)
        )
        return list(await self.session.scalars(statement))

    async def stats_for(self, collection_ids: Sequence[int]) -> dict[int, tuple[int, float]]:
        stats = dict.fromkeys(collection_ids, (0, 0.0))
        if not stats:
            return stats
        statement = (
            select(
                collection_tracks.c.collection_id,
                func.count(collection_tracks.c.id),
                func.coalesce(func.sum(audio_files.c.duration), 0.0),
            )
            .join_from(collection_tracks, audio_files)
            .where(collection_tracks.c.collection_id.in_(stats))
            .group_by(collection_tracks.c.collection_id)
        )
        for collection_id, count, duration in await self.session.execute(statement):
            stats[collection_id] = (count, float(duration))
        return stats

    # collaborators

    async def collaborators(self, collection_id: int) -> list[Collaborator]:
        statement = (
            select(Collaborator)
            .where(collaborators.c.collection_id == collection_id)
            .order_by(collaborators.c.added_date, collaborators.c.id)
        )
        return await self._all(statement)

    async def get_collaborator(self, collection_id: int, user_id: int) -> Collaborator | None:
        member = (collaborators.c.collection_id == collection_id, collaborators.c.user_id == user_id)
        return await self._first(select(Collaborator).where(*member))

    async def add_collaborator(self, collaborator: Collaborator) -> Collaborator:
        return await self._insert(collaborator, may_conflict=True)

    async def delete_collaborator(self, collaborator: Collaborator) -> None:
        await self._delete(collaborator)


# --------------------------------------------------------------------------- admin


class SqlAnnouncementRepository(_Repository):
    async def add(self, announcement: Announcement) -> Announcement:
        return await self._insert(announcement)

    async def get(self, announcement_id: int) -> Announcement | None:
        return await self.session.get(Announcement, announcement_id)

    async def delete(self, announcement: Announcement) -> None:
        await self._delete(announcement)

    async def list(self, *, published_only: bool, skip: int, limit: int) -> Page[Announcement]:
        if published_only:
            statement = select(Announcement).where(announcements.c.is_published)
            order = _newest(announcements.c.published_date, announcements.c.id)
        else:
            statement = select(Announcement)
            order = _newest(announcements.c.created_date, announcements.c.id)
        return await self._page(statement, order, skip, limit)


class SqlMaintenanceRepository(_Repository):
    """The single row ``id = 1`` of ``maintenance_state``; no row means the default state."""

    async def get(self) -> MaintenanceState:
        row = (await self.session.execute(select(maintenance_state).where(maintenance_state.c.id == 1))).first()
        if row is None:
            return MaintenanceState()
        return MaintenanceState(
            enabled=row.enabled, message=row.message, updated_at=row.updated_at, updated_by_id=row.updated_by_id
        )

    async def set(self, state: MaintenanceState) -> None:
        values = asdict(state)
        upsert = self._insert_statement(maintenance_state).values(id=1, **values)
        await self.session.execute(upsert.on_conflict_do_update(index_elements=[maintenance_state.c.id], set_=values))
