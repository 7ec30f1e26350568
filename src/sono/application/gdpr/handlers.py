"""GDPR through the bus: the caller's deletion request, data export and consents. The bus has held
the caller's row already (an account deleted meanwhile answers ``SessionEnded``)."""

from __future__ import annotations

import ipaddress

from sono.application import context
from sono.application.accounts.messages import GetOwnAccount
from sono.application.accounts.ports import PasswordDecryptor, PasswordHasher
from sono.application.accounts.views import user_view
from sono.application.bus import Context, Preparation, ProcessContext, handles, prepares
from sono.application.common import audit
from sono.application.gdpr.erasure import AccountEraser
from sono.application.gdpr.messages import (
    DELETION_PENDING,
    INCORRECT_PASSWORD,
    NO_PENDING_DELETION,
    USER_NOT_FOUND,
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
    RunDueDeletions,
)
from sono.application.media.service import MediaService
from sono.application.ports import Clock
from sono.application.values import CALLER_GONE, Problems
from sono.domain.app_passwords import ExportedAppPassword
from sono.domain.errors import Conflict, NotAuthenticated, NotFound, SessionEnded
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


class GdprHandlers:
    def __init__(self, clock: Clock, hasher: PasswordHasher, decryptor: PasswordDecryptor, media: MediaService) -> None:
        self._clock = clock
        self._hasher = hasher
        self._decryptor = decryptor
        self._media = media
        self._eraser = AccountEraser(clock)

    # ------------------------------------------------------------------ deletion

    @handles(RequestDeletion)
    async def request_deletion(self, command: RequestDeletion, ctx: Context) -> DeletionRequest:
        problems = Problems()
        if command.reason is not None and len(command.reason) > DELETION_REASON_MAX:
            problems.check("reason", [f"Reason must be at most {DELETION_REASON_MAX} characters"])
        problems.raise_if_any()
        user_id = ctx.actor.id
        now = self._clock.now()
        request = DeletionRequest(
            user_id=user_id,
            deletion_type=command.deletion_type,
            requested_at=now,
            scheduled_for=now + DELETION_GRACE_PERIOD,
            reason=command.reason,
        )
        uow = ctx.uow
        user = await uow.users.lock_for_change(user_id)
        if user is None:
            raise NotFound(USER_NOT_FOUND)
        if await uow.deletions.pending_for_user(user_id) is not None:
            raise Conflict(DELETION_PENDING)
        try:
            await uow.deletions.add(request)
        except Conflict:  # a concurrent request of the same user came first
            raise Conflict(DELETION_PENDING) from None
        user.deletion_requested_at = now
        await audit(
            uow, self._clock, AuditEvent.DELETION_REQUESTED, user_id=user_id, deletion_type=str(command.deletion_type)
        )
        return request

    @handles(CancelDeletion)
    async def cancel_deletion(self, command: CancelDeletion, ctx: Context) -> DeletionRequest:
        user_id = ctx.actor.id
        user = await ctx.uow.users.lock_for_change(user_id)
        request = await ctx.uow.deletions.pending_for_user(user_id)
        if request is None or user is None:
            raise NotFound(NO_PENDING_DELETION)
        request.cancel(self._clock.now())
        user.deletion_requested_at = None
        await audit(ctx.uow, self._clock, AuditEvent.DELETION_CANCELLED, user_id=user_id)
        return request

    @prepares(DeleteAccount)
    async def check_password(self, command: DeleteAccount, prep: Preparation) -> None:
        """The account's password, checked outside any transaction."""
        plain = command.password.reveal(self._decryptor)
        user = await prep.ask(GetOwnAccount())
        if not await self._hasher.verify(user.password_hash, plain):
            raise NotAuthenticated(INCORRECT_PASSWORD)

    @handles(DeleteAccount)
    async def delete_account(self, command: DeleteAccount, ctx: Context) -> None:
        user_id, uow = ctx.actor.id, ctx.uow
        user = await uow.users.get(user_id, for_update=True)
        if user is None:
            raise NotFound(USER_NOT_FOUND)
        now = self._clock.now()
        pending = await uow.deletions.pending_for_user(user_id)
        if pending is not None:
            pending.cancel(now)
        if command.deletion_type == DeletionType.SOFT:  # a hard deletion leaves no request row behind
            await uow.deletions.add(
                DeletionRequest(
                    user_id=user_id,
                    deletion_type=command.deletion_type,
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
            user_id=user_id,
            deletion_type=str(command.deletion_type),
            immediate=True,
        )
        keys = await self._eraser.erase(uow, user, command.deletion_type)
        await self._media.release(uow, keys)

    @handles(ExecuteDueDeletions)
    async def execute_due(self, command: ExecuteDueDeletions, ctx: Context) -> int:
        uow = ctx.uow
        claimed = await uow.deletions.claim_due(self._clock.now(), command.batch)
        keys: list[str] = []
        for request in claimed:
            request.complete(self._clock.now())
            user = await uow.users.get(request.user_id, for_update=True)
            if user is not None:
                keys += await self._eraser.erase(uow, user, request.deletion_type)
        await self._media.release(uow, keys)
        return len(claimed)

    @handles(RunDueDeletions)
    async def run_due(self, process: RunDueDeletions, ctx: ProcessContext) -> int:
        done = 0
        while executed := await ctx.send(ExecuteDueDeletions(process.batch)):
            done += executed
        return done

    @handles(GetDeletionStatus)
    async def deletion_status(self, query: GetDeletionStatus, ctx: Context) -> DeletionStatusView:
        request = await ctx.uow.deletions.pending_for_user(ctx.actor.id)
        if request is None:
            return DeletionStatusView(None, None)
        return DeletionStatusView(request, request.days_remaining(self._clock.now()))

    # ------------------------------------------------------------------ export

    @handles(ExportData)
    async def export_data(self, command: ExportData, ctx: Context) -> DataExport:
        user_id = ctx.actor.id
        uow = ctx.uow
        user = await uow.users.get(user_id)
        if user is None:
            raise NotFound(USER_NOT_FOUND)
        audio = await uow.audio_files.list_for_owner(user_id, skip=0, limit=1_000_000)
        collaborations = [
            (collection, collection.collaborator(user_id)) for collection in await uow.collections.member_of(user_id)
        ]
        export = DataExport(
            exported_at=self._clock.now(),
            user=await user_view(self._media, user),
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
        await audit(uow, self._clock, AuditEvent.DATA_EXPORTED, user_id=user_id)
        return export

    # ------------------------------------------------------------------ consents

    @handles(GiveConsent)
    async def give_consent(self, command: GiveConsent, ctx: Context) -> Consent:
        consent_type, consent_version = command.consent_type.strip(), command.consent_version.strip()
        ip_address = command.ip_address
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
        user_id = ctx.actor.id
        now = self._clock.now()
        consent = Consent(
            user_id=user_id,
            consent_type=consent_type,
            consent_version=consent_version,
            given_at=now,
            ip_address=ip_address or context.current().ip,
        )
        uow = ctx.uow
        # one consent change per user at a time; an account deleted meanwhile gives none
        if await uow.users.lock_for_change(user_id) is None:
            raise SessionEnded(CALLER_GONE)
        for previous in await uow.consents.active_of_type(user_id, consent_type):
            previous.withdrawn_at = now
        await uow.consents.add(consent)
        await audit(
            uow,
            self._clock,
            AuditEvent.CONSENT_GIVEN,
            user_id=user_id,
            consent_type=consent_type,
            consent_version=consent_version,
        )
        return consent

    @handles(ListConsents)
    async def consents(self, query: ListConsents, ctx: Context) -> list[Consent]:
        return await ctx.uow.consents.list_for_user(ctx.actor.id)
