"""Maintenance mode: ``/api/v1/admin/maintenance``. Open during maintenance (that is how it ends)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import JSONBody, QueryParameter

from sono.entrypoints.http.auth import AppContainer, Caller, ClientIp
from sono.entrypoints.http.openapi import BEARER, EXEMPT, errors
from sono.entrypoints.http.schemas import MaintenanceOut, MaintenanceToggleIn, maintenance_out


class MaintenanceController(Controller):
    path = "/api/v1/admin/maintenance"
    tags = ["Maintenance"]
    opt = EXEMPT

    @get("/status", summary="Whether maintenance mode is on (public)", responses=errors(maintenance=False))
    async def status(self, container: AppContainer) -> MaintenanceOut:
        return maintenance_out(await container.maintenance.status())

    @post(
        "/enable",
        summary="Turn maintenance mode on",
        status_code=200,
        security=BEARER,
        responses=errors(401, 403, 422, maintenance=False),
    )
    async def enable(
        self,
        admin: Caller,
        container: AppContainer,
        ip: ClientIp,
        message: Annotated[str | None, QueryParameter(description="Custom message, at most 200 characters")] = None,
    ) -> MaintenanceOut:
        state = await container.maintenance.set(True, message, actor=admin, loc=("query", "message"), ip=ip)
        return maintenance_out(state)

    @post(
        "/disable",
        summary="Turn maintenance mode off",
        status_code=200,
        security=BEARER,
        responses=errors(401, 403, maintenance=False),
    )
    async def disable(self, admin: Caller, container: AppContainer, ip: ClientIp) -> MaintenanceOut:
        return maintenance_out(await container.maintenance.set(False, actor=admin, ip=ip))

    @post(
        "/toggle",
        summary="Set maintenance mode on or off",
        status_code=200,
        security=BEARER,
        responses=errors(401, 403, 422, maintenance=False),
    )
    async def toggle(
        self, data: JSONBody[MaintenanceToggleIn], admin: Caller, container: AppContainer, ip: ClientIp
    ) -> MaintenanceOut:
        state = await container.maintenance.set(data.enabled, data.message, actor=admin, ip=ip)
        return maintenance_out(state)
