"""The old entry points of GDPR (deletion, the sweep of scheduled ones, export, consents): each
hands its message to the bus (``sono.application.gdpr.messages``; the use cases are in
``handlers``). ``eraser`` carries out a deletion inside a caller's unit of work (admins' deletions)."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

from sono.application import context
from sono.application.common import PasswordInput, Principal, Send
from sono.application.gdpr.erasure import AccountEraser
from sono.application.gdpr.messages import (
    DELETION_PENDING,
    INCORRECT_PASSWORD,
    NO_PENDING_DELETION,
    CancelDeletion,
    DataExport,
    DeleteAccount,
    DeletionStatusView,
    ExecuteDueDeletions,
    ExportData,
    GetDeletionStatus,
    GiveConsent,
    ListConsents,
    RequestDeletion,
)
from sono.application.messages import Actor
from sono.application.ports import Clock
from sono.domain.gdpr import Consent, DeletionRequest, DeletionType

__all__ = [
    "DELETION_PENDING",
    "INCORRECT_PASSWORD",
    "NO_PENDING_DELETION",
    "DataExport",
    "DeletionStatusView",
    "GdprService",
]


class GdprService:
    def __init__(self, clock: Clock, send: Send) -> None:
        """``send``: the bus, to which the old entry points hand their messages."""
        self._send = send
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
        with _from(ip):
            await self._send(DeleteAccount(password, deletion_type), principal.actor)

    async def execute_due(self, *, batch: int = 1) -> int:
        """Carry out every scheduled deletion whose grace period is over, each exactly once (one
        ``ExecuteDueDeletions`` after the other, until none is due)."""
        done = 0
        while executed := await self._send(ExecuteDueDeletions(batch), Actor.worker()):
            done += executed
        return done

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
