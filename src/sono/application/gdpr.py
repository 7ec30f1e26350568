"""GDPR: deletion (scheduled or immediate, soft or hard), data export and consents."""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from typing import Any

from sono.application.common import PasswordInput, Principal, Problems, audit, delete_objects
from sono.application.ports import (
    Clock,
    ObjectStorage,
    PasswordDecryptor,
    PasswordHasher,
    UnitOfWork,
    UnitOfWorkFactory,
)
from sono.domain.errors import BadRequest, Conflict, NotFound
from sono.domain.gdpr import (
    CONSENT_TYPE_MAX,
    CONSENT_VERSION_MAX,
    DELETION_GRACE_PERIOD,
    DELETION_REASON_MAX,
    AuditEvent,
    Consent,
    DeletionRequest,
    DeletionStatus,
    DeletionType,
)
from sono.domain.users import User

DELETION_PENDING = "A deletion request is already pending"
NO_PENDING_DELETION = "No pending deletion request found"
INCORRECT_PASSWORD = "Incorrect password"
_PRIVATE_FIELDS = {"password_hash", "token_hash", "storage_key", "cover_art_key", "profile_picture_key"}


class AccountEraser:
    """Carries out a deletion inside the caller's unit of work. Returns the storage keys to remove
    once that unit of work has committed."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def erase(
        self, uow: UnitOfWork, user: User, deletion_type: DeletionType, *, actor_id: int | None = None
    ) -> list[str]:
        assert user.id is not None
        now = self._clock.now()
        user.end_all_sessions()
        await uow.families.revoke_all_for_user(user.id, now, f"deletion:{deletion_type}")
        if deletion_type == DeletionType.SOFT:
            user.is_active = False
            user.deactivated_at = now
            user.updated_at = now
            await audit(
                uow, self._clock, AuditEvent.DELETION_EXECUTED, user_id=user.id, actor_id=actor_id, deletion_type="soft"
            )
            return []
        keys = await uow.audio_files.storage_keys_for_owner(user.id)
        keys += await uow.collections.cover_keys_for_owner(user.id)
        if user.profile_picture_key:
            keys.append(user.profile_picture_key)
        await self._close_gaps_left_by(uow, user.id)
        await uow.audit.anonymise_user(user.id)
        await uow.users.delete(user)
        await audit(uow, self._clock, AuditEvent.DELETION_EXECUTED, deletion_type="hard")
        return keys

    async def _close_gaps_left_by(self, uow: UnitOfWork, owner_id: int) -> None:
        """Other people's collections that hold the user's audio files lose those entries: renumber
        what remains so track orders stay contiguous."""
        files, _ = await uow.audio_files.list_for_owner(owner_id, skip=0, limit=1_000_000)
        doomed = {f.id for f in files}
        affected: set[int] = set()
        for audio_id in doomed:
            assert audio_id is not None
            affected.update(await uow.collections.collection_ids_with_audio(audio_id))
        for collection_id in sorted(affected):
            tracks = await uow.collections.tracks(collection_id)
            for track in tracks:
                if track.audio_file_id in doomed:
                    await uow.collections.delete_track(track)
            kept = [t.id for t in tracks if t.audio_file_id not in doomed and t.id is not None]
            await uow.collections.set_track_orders(collection_id, kept)


class GdprService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        decryptor: PasswordDecryptor,
        clock: Clock,
        storage: ObjectStorage,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._decryptor = decryptor
        self._clock = clock
        self._storage = storage
        self._eraser = AccountEraser(clock)

    # ------------------------------------------------------------------ deletion

    async def request_deletion(
        self, principal: Principal, deletion_type: DeletionType, reason: str | None, *, ip: str | None = None
    ) -> DeletionRequest:
        """Schedule the account's deletion after the grace period; 409 if one is pending."""
        problems = Problems()
        if reason is not None and len(reason) > DELETION_REASON_MAX:
            problems.check(("body", "reason"), [f"Reason must be at most {DELETION_REASON_MAX} characters"])
        problems.raise_if_any()
        now = self._clock.now()
        request = DeletionRequest(
            user_id=principal.user_id,
            deletion_type=deletion_type,
            requested_at=now,
            scheduled_for=now + DELETION_GRACE_PERIOD,
            reason=reason,
        )
        try:
            async with self._uow() as uow:
                if await uow.deletions.pending_for_user(principal.user_id) is not None:
                    raise Conflict(DELETION_PENDING)
                await uow.deletions.add(request)
                await audit(
                    uow,
                    self._clock,
                    AuditEvent.DELETION_REQUESTED,
                    user_id=principal.user_id,
                    ip=ip,
                    deletion_type=str(deletion_type),
                )
                await uow.commit()
        except Conflict:
            raise Conflict(DELETION_PENDING) from None
        return request

    async def cancel_deletion(self, principal: Principal, *, ip: str | None = None) -> DeletionRequest:
        async with self._uow() as uow:
            request = await uow.deletions.pending_for_user(principal.user_id)
            if request is None:
                raise NotFound(NO_PENDING_DELETION)
            request.status = DeletionStatus.CANCELLED
            request.cancelled_at = self._clock.now()
            await audit(uow, self._clock, AuditEvent.DELETION_CANCELLED, user_id=principal.user_id, ip=ip)
            await uow.commit()
        return request

    async def deletion_status(self, principal: Principal) -> DeletionRequest | None:
        """The pending request, if any."""
        async with self._uow(read_only=True) as uow:
            return await uow.deletions.pending_for_user(principal.user_id)

    async def delete_now(
        self, principal: Principal, password: PasswordInput, deletion_type: DeletionType, *, ip: str | None = None
    ) -> None:
        """Delete the account at once, after checking its password."""
        plain = password.reveal(self._decryptor)
        if not await self._hasher.verify(principal.user.password_hash, plain):
            raise BadRequest(INCORRECT_PASSWORD)
        async with self._uow() as uow:
            user = await uow.users.get_for_update(principal.user_id)
            if user is None:
                raise NotFound("User not found")
            now = self._clock.now()
            pending = await uow.deletions.pending_for_user(principal.user_id)
            if pending is not None:
                pending.status = DeletionStatus.CANCELLED
                pending.cancelled_at = now
            if deletion_type == DeletionType.SOFT:  # a hard deletion leaves no request row behind
                await uow.deletions.add(
                    DeletionRequest(
                        user_id=principal.user_id,
                        deletion_type=deletion_type,
                        requested_at=now,
                        scheduled_for=now,
                        status=DeletionStatus.COMPLETED,
                        executed_at=now,
                    )
                )
            await audit(
                uow,
                self._clock,
                AuditEvent.DELETION_REQUESTED,
                user_id=principal.user_id,
                ip=ip,
                deletion_type=str(deletion_type),
                immediate=True,
            )
            keys = await self._eraser.erase(uow, user, deletion_type)
            await uow.commit()
        await delete_objects(self._storage, keys)

    async def execute_due(self, *, batch: int = 1) -> int:
        """Carry out every scheduled deletion whose grace period is over, each exactly once: a
        request is claimed under a row lock (skipped by concurrent runners) and completed in the
        same transaction."""
        done = 0
        while True:
            async with self._uow() as uow:
                claimed = await uow.deletions.claim_due(self._clock.now(), batch)
                if not claimed:
                    return done
                keys: list[str] = []
                for request in claimed:
                    request.status = DeletionStatus.COMPLETED
                    request.executed_at = self._clock.now()
                    user = await uow.users.get_for_update(request.user_id)
                    if user is not None:
                        keys += await self._eraser.erase(uow, user, request.deletion_type)
                await uow.commit()
            await delete_objects(self._storage, keys)
            done += len(claimed)

    # ------------------------------------------------------------------ export

    async def export_data(self, principal: Principal, *, ip: str | None = None) -> dict[str, Any]:
        """Everything stored about the user, as JSON-ready data."""
        user_id = principal.user_id
        async with self._uow() as uow:
            user = await uow.users.get(user_id)
            if user is None:
                raise NotFound("User not found")
            audio, _ = await uow.audio_files.list_for_owner(user_id, skip=0, limit=1_000_000)
            owned, _ = await uow.collections.list_for_owner(user_id, skip=0, limit=1_000_000)
            collections = []
            for collection in owned:
                assert collection.id is not None
                entry = _plain(collection)
                entry["tracks"] = [_plain(t) for t in await uow.collections.tracks(collection.id)]
                entry["collaborators"] = [_plain(c) for c in await uow.collections.collaborators(collection.id)]
                collections.append(entry)
            collaborations = []
            for collection in await uow.collections.list_for_member(user_id):
                assert collection.id is not None
                membership = await uow.collections.get_collaborator(collection.id, user_id)
                collaborations.append(
                    {
                        "collection_id": collection.id,
                        "collection_title": collection.title,
                        "permission_level": str(membership.permission_level) if membership else None,
                        "added_date": _iso(membership.added_date) if membership else None,
                    }
                )
            data = {
                "exported_at": _iso(self._clock.now()),
                "profile": _plain(user),
                "audio_files": [_plain(a) for a in audio],
                "collections": collections,
                "collaborations": collaborations,
                "consents": [_plain(c) | {"is_active": c.is_active} for c in await uow.consents.list_for_user(user_id)],
                "deletion_requests": [_plain(d) for d in await uow.deletions.list_for_user(user_id)],
                "audit_log": [_plain(e) for e in await uow.audit.list_for_user(user_id)],
            }
            await audit(uow, self._clock, AuditEvent.DATA_EXPORTED, user_id=user_id, ip=ip)
            await uow.commit()
        return data

    # ------------------------------------------------------------------ consents

    async def give_consent(
        self,
        principal: Principal,
        consent_type: str,
        consent_version: str,
        ip_address: str | None,
        *,
        ip: str | None = None,
    ) -> Consent:
        """Record a consent. A newer consent of the same type supersedes the active one."""
        consent_type, consent_version = consent_type.strip(), consent_version.strip()
        problems = Problems()
        if not 1 <= len(consent_type) <= CONSENT_TYPE_MAX:
            problems.check(("body", "consent_type"), [f"Consent type must be 1 to {CONSENT_TYPE_MAX} characters"])
        if not 1 <= len(consent_version) <= CONSENT_VERSION_MAX:
            problems.check(
                ("body", "consent_version"), [f"Consent version must be 1 to {CONSENT_VERSION_MAX} characters"]
            )
        problems.raise_if_any()
        now = self._clock.now()
        consent = Consent(
            user_id=principal.user_id,
            consent_type=consent_type,
            consent_version=consent_version,
            given_at=now,
            ip_address=ip_address or ip,
        )
        async with self._uow() as uow:
            for previous in await uow.consents.active_of_type(principal.user_id, consent_type):
                previous.withdrawn_at = now
            await uow.consents.add(consent)
            await audit(
                uow,
                self._clock,
                AuditEvent.CONSENT_GIVEN,
                user_id=principal.user_id,
                ip=ip,
                consent_type=consent_type,
                consent_version=consent_version,
            )
            await uow.commit()
        return consent

    async def consents(self, principal: Principal) -> list[Consent]:
        async with self._uow(read_only=True) as uow:
            return await uow.consents.list_for_user(principal.user_id)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _plain(obj: Any) -> dict[str, Any]:
    """A domain dataclass as JSON-ready data, without secrets or internal storage keys."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        if f.name in _PRIVATE_FIELDS:
            continue
        value = getattr(obj, f.name)
        if isinstance(value, datetime):
            value = _iso(value)
        elif isinstance(value, enum.Enum):
            value = value.value
        out[f.name] = value
    return out
