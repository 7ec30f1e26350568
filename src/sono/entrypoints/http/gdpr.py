"""Account deletion requests, data export and consents: ``/api/v1/users/me/...``. (Deleting the
account at once is ``DELETE /api/v1/users/me``, with the rest of that resource in ``users``.)"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody

from sono.entrypoints.http.auth import AppContainer, Caller, ClientIp
from sono.entrypoints.http.openapi import BEARER, errors
from sono.entrypoints.http.schemas import (
    ConsentIn,
    ConsentOut,
    DataExportOut,
    DeletionRequestIn,
    DeletionScheduledOut,
    DeletionStatusOut,
    MessageOut,
    consent_out,
    deletion_status_out,
)

DELETION_SCHEDULED = "Account deletion scheduled"
DELETION_CANCELLED = "Deletion request cancelled"


class GdprController(Controller):
    path = "/api/v1/users/me"
    tags = ["GDPR"]
    security = BEARER

    @post(
        "/request-deletion",
        summary="Schedule the account's deletion after the grace period",
        status_code=200,
        responses=errors(401, 409, 422),
    )
    async def request_deletion(
        self, principal: Caller, container: AppContainer, ip: ClientIp, data: JSONBody[DeletionRequestIn | None] = None
    ) -> DeletionScheduledOut:
        data = data or DeletionRequestIn()
        request = await container.gdpr.request_deletion(principal, data.deletion_type, data.reason, ip=ip)
        return DeletionScheduledOut(message=DELETION_SCHEDULED, **msgspec.structs.asdict(deletion_status_out(request)))

    @post("/cancel-deletion", summary="Cancel the pending deletion", status_code=200, responses=errors(401, 404))
    async def cancel_deletion(self, principal: Caller, container: AppContainer, ip: ClientIp) -> MessageOut:
        await container.gdpr.cancel_deletion(principal, ip=ip)
        return MessageOut(DELETION_CANCELLED)

    @get("/deletion-status", summary="The pending deletion, if any", responses=errors(401))
    async def deletion_status(self, principal: Caller, container: AppContainer) -> DeletionStatusOut:
        return deletion_status_out(await container.gdpr.deletion_status(principal))

    @get(
        "/export-data",
        summary="Everything stored about the caller",
        responses={200: ResponseSpec(DataExportOut, generate_examples=False, description="A JSON attachment")}
        | errors(401),
    )
    async def export_data(self, principal: Caller, container: AppContainer, ip: ClientIp) -> Response[dict[str, Any]]:
        data = await container.gdpr.export_data(principal, ip=ip)
        filename = f"sono-export-{principal.user.username}.json"
        return Response(data, headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    @post("/consent", summary="Record a consent", status_code=201, responses=errors(401, 422))
    async def give_consent(
        self, data: JSONBody[ConsentIn], principal: Caller, container: AppContainer, ip: ClientIp
    ) -> ConsentOut:
        consent = await container.gdpr.give_consent(
            principal, data.consent_type, data.consent_version, data.ip_address, ip=ip
        )
        return consent_out(consent)

    @get("/consents", summary="The caller's consents, newest first", responses=errors(401))
    async def consents(self, principal: Caller, container: AppContainer) -> list[ConsentOut]:
        return [consent_out(c) for c in await container.gdpr.consents(principal)]
