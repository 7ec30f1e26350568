"""Account deletion requests, data export and consents: ``/api/v1/users/me/...``. (Deleting the
account at once is ``DELETE /api/v1/users/me``, with the rest of that resource in ``accounts``.)"""

from __future__ import annotations

from litestar import Controller, Response
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody

from sono.application.gdpr.messages import (
    CancelDeletion,
    ExportData,
    GetDeletionStatus,
    GiveConsent,
    ListConsents,
    RequestDeletion,
)
from sono.entrypoints.http.gdpr.schemas import (
    ConsentIn,
    ConsentOut,
    ConsentRecordedOut,
    DataExportOut,
    DeletionRequestIn,
    DeletionScheduledOut,
    DeletionStatusOut,
    consent_out,
    consent_recorded_out,
    deletion_scheduled_out,
    deletion_status_out,
    export_out,
)
from sono.entrypoints.http.openapi import BEARER, errors
from sono.entrypoints.http.routes import get, post
from sono.entrypoints.http.schemas import MessageOut
from sono.entrypoints.http.security import AppContainer, Caller, signed_in

DELETION_SCHEDULED = (
    "Account deletion scheduled. Your account will remain active for 7 days. "
    "Cancel anytime using /users/me/cancel-deletion"
)
DELETION_CANCELLED = "Account deletion cancelled"
CONSENT_RECORDED = "Consent recorded"


class GdprController(Controller):
    path = "/api/v1/users/me"
    tags = ["GDPR"]
    guards = [signed_in]
    security = BEARER

    @post(
        "/request-deletion",
        summary="Schedule the account's deletion after the grace period",
        status_code=200,
        responses=errors(401, 409, 422),
    )
    async def request_deletion(
        self, principal: Caller, container: AppContainer, data: JSONBody[DeletionRequestIn | None] = None
    ) -> DeletionScheduledOut:
        data = data or DeletionRequestIn()
        request = await container.bus(RequestDeletion(data.deletion_type, data.reason), principal.actor)
        return deletion_scheduled_out(DELETION_SCHEDULED, request)

    @post("/cancel-deletion", summary="Cancel the pending deletion", status_code=200, responses=errors(401, 404))
    async def cancel_deletion(self, principal: Caller, container: AppContainer) -> MessageOut:
        await container.bus(CancelDeletion(), principal.actor)
        return MessageOut(DELETION_CANCELLED)

    @get("/deletion-status", summary="The pending deletion, if any", responses=errors(401))
    async def deletion_status(self, principal: Caller, container: AppContainer) -> DeletionStatusOut:
        return deletion_status_out(await container.bus(GetDeletionStatus(), principal.actor))

    @get(
        "/export-data",
        summary="Everything stored about the caller",
        responses={200: ResponseSpec(DataExportOut, generate_examples=False, description="A JSON attachment")}
        | errors(401),
    )
    async def export_data(self, principal: Caller, container: AppContainer) -> Response[DataExportOut]:
        export = export_out(await container.bus(ExportData(), principal.actor))
        filename = f"sono-export-{principal.user.username}.json"
        return Response(export, headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    @post("/consent", summary="Record a consent", status_code=201, responses=errors(401, 422))
    async def give_consent(
        self, data: JSONBody[ConsentIn], principal: Caller, container: AppContainer
    ) -> ConsentRecordedOut:
        message = GiveConsent(data.consent_type, data.consent_version, data.ip_address)
        consent = await container.bus(message, principal.actor)
        return consent_recorded_out(consent, CONSENT_RECORDED)

    @get("/consents", summary="The caller's consents, newest first", responses=errors(401))
    async def consents(self, principal: Caller, container: AppContainer) -> list[ConsentOut]:
        return [consent_out(c) for c in await container.bus(ListConsents(), principal.actor)]
