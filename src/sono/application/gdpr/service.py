"""GDPR: immediate deletion and the sweep of scheduled ones (the claims and leases), and the old
entry points of the other use cases, which now send their messages through the bus
(``sono.application.gdpr.messages``; their handlers are in ``handlers``)."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

from sono.application import context
from sono.application.accounts.ports import PasswordDecryptor, PasswordHasher
from sono.application.common import PasswordInput, Principal, Send, audit
from sono.application.gdpr.erasure import AccountEraser
from sono.application.gdpr.messages import (
    DELETION_PENDING,
    NO_PENDING_DELETION,
    CancelDeletion,
    DataExport,
    DeletionStatusView,
    ExportData,
    GetDeletionStatus,
    GiveConsent,
    ListConsents,
    RequestDeletion,
)
from sono.application.media.service import MediaService
from sono.application.ports import Clock
from sono.application.uow import UnitOfWorkFactory
from sono.domain.errors import NotAuthenticated, NotFound
from sono.domain.gdpr import AuditEvent, Consent, DeletionRequest, DeletionStatus, DeletionType

INCORRECT_PASSWORD = "Incorrect password"
__all__ = [
    "DELETION_PENDING",
    "INCORRECT_PASSWORD",
    "NO_PENDING_DELETION",
    "DataExport",
    "DeletionStatusView",
    "GdprService",
]


class GdprService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        decryptor: PasswordDecryptor,
        clock: Clock,
        media: MediaService,
        send: Send,
    ) -> None:
        """``send``: the bus, to which the old entry points hand their messages."""
        self._send = send
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
        with _from(ip):
            return await self._send(RequestDeletion(deletion_type, reason), principal.actor)

    async def cancel_deletion(self, principal: Principal, *, ip: str | None = None) -> DeletionRequest:
        with _from(ip):
            return await self._send(CancelDeletion(), principal.actor)

    async def deletion_status(self, principal: Principal) -> DeletionStatusView:
        return await self._send(GetDeletionStatus(), principal.actor)

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

    # ------------------------------------------------------------------ export and consents

    async def export_data(self, principal: Principal, *, ip: str | None = None) -> DataExport:
        with _from(ip):
            return await self._send(ExportData(), principal.actor)

    async def give_consent(
        self,
        principal: Principal,
        consent_type: str,
        consent_version: str,
        ip_address: str | None,
        *,
        ip: str | None = None,
    ) -> Consent:
        with _from(ip):
            return await self._send(GiveConsent(consent_type, consent_version, ip_address), principal.actor)

    async def consents(self, principal: Principal) -> list[Consent]:
        return await self._send(ListConsents(), principal.actor)


def _from(ip: str | None) -> AbstractContextManager[object]:
    """The request's address as the callers of the old signatures gave it."""
    return context.bind(ip=ip) if ip is not None else nullcontext()
