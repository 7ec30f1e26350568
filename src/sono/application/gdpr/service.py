"""GDPR: deletion (scheduled or immediate, soft or hard), data export and consents."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime

from sono.application.accounts.ports import PasswordDecryptor, PasswordHasher
from sono.application.common import CALLER_GONE, PasswordInput, Principal, Problems, audit
from sono.application.gdpr.erasure import AccountEraser
from sono.application.media.service import MediaService
from sono.application.ports import Clock
from sono.application.uow import UnitOfWorkFactory
from sono.domain.annotations import PlayCount, Star
from sono.domain.app_passwords import ExportedAppPassword
from sono.domain.audio import AudioFile
from sono.domain.collections import Collaborator, Collection
from sono.domain.errors import Conflict, NotAuthenticated, NotFound, SessionEnded
from sono.domain.gdpr import (
    CONSENT_TYPE_MAX,
    CONSENT_VERSION_MAX,
    DELETION_GRACE_PERIOD,
    DELETION_REASON_MAX,
    AuditEntry,
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


@dataclass(frozen=True, slots=True)
class DeletionStatusView:
    """The pending deletion as of ``now`` (None: nothing pending)."""

    request: DeletionRequest | None
    days_remaining: float | None


@dataclass(frozen=True, slots=True)
class DataExport:
    """Everything stored about a user. The edge renders it field by field (an allow-list)."""

    exported_at: datetime
    user: User
    audio_files: list[AudioFile]
    collections: list[Collection]
    collaborations: list[tuple[Collection, Collaborator]]
    consents: list[Consent]
    deletion_requests: list[DeletionRequest]
    audit_log: list[AuditEntry]
    app_passwords: list[ExportedAppPassword] = field(default_factory=list)
    stars: list[Star] = field(default_factory=list)
    play_counts: list[PlayCount] = field(default_factory=list)


class GdprService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        decryptor: PasswordDecryptor,
        clock: Clock,
        media: MediaService,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._decryptor = decryptor
        self._clock = clock
        self._media = media
        self.eraser = AccountEraser(clock)

    # ------------------------------------------------------------------ deletion

    async def request_deletion(
        self, principal: Principal, deletion_type: DeletionType, reason: str | None, *, ip: str | None = None
    ) -> DeletionRequest:
        """Schedule the account's deletion after the grace period; 409 if one is pending."""
        problems = Problems()
        if reason is not None and len(reason) > DELETION_REASON_MAX:
            problems.check("reason", [f"Reason must be at most {DELETION_REASON_MAX} characters"])
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
                user = await uow.users.get(principal.user_id, for_update=True)
                if user is None:
                    raise NotFound("User not found")
                if await uow.deletions.pending_for_user(principal.user_id) is not None:
                    raise Conflict(DELETION_PENDING)
                await uow.deletions.add(request)
                user.deletion_requested_at = now
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
            user = await uow.users.get(principal.user_id, for_update=True)
            request = await uow.deletions.pending_for_user(principal.user_id)
            if request is None or user is None:
                raise NotFound(NO_PENDING_DELETION)
            request.cancel(self._clock.now())
            user.deletion_requested_at = None
            await audit(uow, self._clock, AuditEvent.DELETION_CANCELLED, user_id=principal.user_id, ip=ip)
            await uow.commit()
        return request

    async def deletion_status(self, principal: Principal) -> DeletionStatusView:
        async with self._uow(read_only=True) as uow:
            request = await uow.deletions.pending_for_user(principal.user_id)
        if request is None:
            return DeletionStatusView(None, None)
        return DeletionStatusView(request, request.days_remaining(self._clock.now()))

    async def delete_now(
        self, principal: Principal, password: PasswordInput, deletion_type: DeletionType, *, ip: str | None = None
    ) -> None:
        """Delete the account at once, after checking its password (401 when wrong)."""
        plain = password.reveal(self._decryptor)
        if not await self._hasher.verify(principal.user.password_hash, plain):
            raise NotAuthenticated(INCORRECT_PASSWORD)
        async with self._uow() as uow:
            user = await uow.users.get(principal.user_id, for_update=True)
            if user is None:
                raise NotFound("User not found")
            now = self._clock.now()
            pending = await uow.deletions.pending_for_user(principal.user_id)
            if pending is not None:
                pending.cancel(now)
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
            keys = await self.eraser.erase(uow, user, deletion_type)
            await self._media.release(uow, keys)
            await uow.commit()

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
                    request.complete(self._clock.now())
                    user = await uow.users.get(request.user_id, for_update=True)
                    if user is not None:
                        keys += await self.eraser.erase(uow, user, request.deletion_type)
                await self._media.release(uow, keys)
                await uow.commit()
            done += len(claimed)

    # ------------------------------------------------------------------ export

    async def export_data(self, principal: Principal, *, ip: str | None = None) -> DataExport:
        """Everything stored about the user."""
        user_id = principal.user_id
        async with self._uow() as uow:
            user = await uow.users.get(user_id)
            if user is None:
                raise NotFound("User not found")
            audio = await uow.audio_files.list_for_owner(user_id, skip=0, limit=1_000_000)
            collaborations = [
                (collection, collection.collaborator(user_id))
                for collection in await uow.collections.member_of(user_id)
            ]
            export = DataExport(
                exported_at=self._clock.now(),
                user=user,
                audio_files=list(audio.items),
                collections=await uow.collections.owned_by(user_id),
                collaborations=collaborations,
                consents=await uow.consents.list_for_user(user_id),
                deletion_requests=await uow.deletions.list_for_user(user_id),
                audit_log=await uow.audit.list_for_user(user_id),
                app_passwords=[ExportedAppPassword.of(c) for c in await uow.app_passwords.list_for_user(user_id)],
                stars=await uow.annotations.stars_of(user_id),
                play_counts=await uow.annotations.plays_of(user_id),
            )
            await audit(uow, self._clock, AuditEvent.DATA_EXPORTED, user_id=user_id, ip=ip)
            await uow.commit()
        return export

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
        """Record a consent. A newer consent of the same type supersedes the active one, so
        exactly one per type is active."""
        consent_type, consent_version = consent_type.strip(), consent_version.strip()
        problems = Problems()
        if not 1 <= len(consent_type) <= CONSENT_TYPE_MAX:
            problems.check("consent_type", [f"Consent type must be 1 to {CONSENT_TYPE_MAX} characters"])
        if not 1 <= len(consent_version) <= CONSENT_VERSION_MAX:
            problems.check("consent_version", [f"Consent version must be 1 to {CONSENT_VERSION_MAX} characters"])
        if ip_address is not None:
            try:
                ip_address = str(ipaddress.ip_address(ip_address.strip()))
            except ValueError:
                problems.check("ip_address", ["value is not a valid IP address"])
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
            # one consent change per user at a time; an account deleted meanwhile gives none
            if await uow.users.get(principal.user_id, for_update=True) is None:
                raise SessionEnded(CALLER_GONE)
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
