"""Maintenance mode: ``/api/v1/admin/maintenance``. Open during maintenance (that is how it ends)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller
from litestar.params import JSONBody, QueryParameter

from sono.application.maintenance.messages import GetMaintenance, SetMaintenance
from sono.application.messages import ANONYMOUS
from sono.domain.maintenance import MESSAGE_MAX, MaintenanceState
from sono.entrypoints.http.errors import field_locations
from sono.entrypoints.http.openapi import BEARER, EXEMPT, errors
from sono.entrypoints.http.routes import get, post
from sono.entrypoints.http.schemas import EDGE_TEXT_MAX, QUERY_TEXT_MAX, Input, QueryText, documented, text
from sono.entrypoints.http.security import Acting, Bus, admin_only


class MaintenanceToggleIn(Input):
    enabled: bool
    message: (
        Annotated[
            str,
            text(
                EDGE_TEXT_MAX,
                description=f"At most {MESSAGE_MAX} characters",
                extra_json_schema=documented(max_length=MESSAGE_MAX),
            ),
        ]
        | None
    ) = None


class MaintenanceOut(msgspec.Struct):
    enabled: bool
    message: str


def maintenance_out(state: MaintenanceState) -> MaintenanceOut:
    return MaintenanceOut(enabled=state.enabled, message=state.message)


class MaintenanceController(Controller):
    path = "/api/v1/admin/maintenance"
    tags = ["Maintenance"]
    opt = EXEMPT

    @get("/status", summary="Whether maintenance mode is on (public)", responses=errors(maintenance=False))
    async def status(self, bus: Bus) -> MaintenanceOut:
        return maintenance_out(await bus(GetMaintenance(), ANONYMOUS))

    @post(
        "/enable",
        summary="Turn maintenance mode on",
        status_code=200,
        guards=[admin_only],
        security=BEARER,
        opt=field_locations(message="query"),
        responses=errors(401, 403, 422, maintenance=False),
    )
    async def enable(
        self,
        bus: Bus,
        actor: Acting,
        message: Annotated[
            QueryText | None,
            QueryParameter(max_length=QUERY_TEXT_MAX, description=f"Custom message, at most {MESSAGE_MAX} characters"),
        ] = None,
    ) -> MaintenanceOut:
        state = await bus(SetMaintenance(True, message), actor)
        return maintenance_out(state)

    @post(
        "/disable",
        summary="Turn maintenance mode off",
        status_code=200,
        guards=[admin_only],
        security=BEARER,
        responses=errors(401, 403, maintenance=False),
    )
    async def disable(self, bus: Bus, actor: Acting) -> MaintenanceOut:
        return maintenance_out(await bus(SetMaintenance(False), actor))

    @post(
        "/toggle",
        summary="Set maintenance mode on or off",
        status_code=200,
        guards=[admin_only],
        security=BEARER,
        responses=errors(401, 403, 422, maintenance=False),
    )
    async def toggle(self, data: JSONBody[MaintenanceToggleIn], bus: Bus, actor: Acting) -> MaintenanceOut:
        state = await bus(SetMaintenance(data.enabled, data.message), actor)
        return maintenance_out(state)
