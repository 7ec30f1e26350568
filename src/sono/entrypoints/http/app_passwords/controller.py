"""Subsonic app passwords: the caller's own (``/api/v1/users/me/subsonic-credentials``: make one,
list them as a plain array like the other small "me" lists, revoke one) and any user's for admins
(``/api/v1/admin/users/{user_id}/subsonic-credentials``)."""

from __future__ import annotations

from litestar import Controller
from litestar.params import JSONBody

from sono.application.app_passwords.messages import (
    CreateAppPassword,
    ListAppPasswords,
    ListUserAppPasswords,
    RevokeAppPassword,
    RevokeUserAppPassword,
)
from sono.entrypoints.http.app_passwords.schemas import (
    AppPasswordIn,
    AppPasswordOut,
    CreatedAppPasswordOut,
    CredentialId,
    UserId,
    app_password_out,
    created_out,
)
from sono.entrypoints.http.openapi import BEARER, errors
from sono.entrypoints.http.routes import delete, get, post
from sono.entrypoints.http.security import Acting, Bus, admin_only, signed_in


class AppPasswordsController(Controller):
    path = "/api/v1/users/me/subsonic-credentials"
    tags = ["Subsonic app passwords"]
    guards = [signed_in]
    security = BEARER

    @post(
        "/",
        summary="Make an app password for a Subsonic player (its secret is shown in this answer only)",
        status_code=201,
        responses=errors(401, 409, 422),
    )
    async def create(self, data: JSONBody[AppPasswordIn], bus: Bus, actor: Acting) -> CreatedAppPasswordOut:
        return created_out(await bus(CreateAppPassword(data.name), actor))

    @get("/", summary="The caller's app passwords, newest first (a plain array)", responses=errors(401))
    async def list_own(self, bus: Bus, actor: Acting) -> list[AppPasswordOut]:
        return [app_password_out(view) for view in await bus(ListAppPasswords(), actor)]

    @delete(
        "/{credential_id:int}",
        summary="Revoke one of the caller's app passwords",
        status_code=204,
        responses=errors(401, 404, 422),
    )
    async def revoke(self, bus: Bus, actor: Acting, credential_id: CredentialId) -> None:
        await bus(RevokeAppPassword(credential_id), actor)


class AdminAppPasswordsController(Controller):
    path = "/api/v1/admin/users/{user_id:int}/subsonic-credentials"
    tags = ["Subsonic app passwords"]
    guards = [admin_only]
    security = BEARER

    @get("/", summary="A user's app passwords, newest first (a plain array)", responses=errors(401, 403, 404, 422))
    async def list_for_user(self, bus: Bus, actor: Acting, user_id: UserId) -> list[AppPasswordOut]:
        return [app_password_out(view) for view in await bus(ListUserAppPasswords(user_id), actor)]

    @delete(
        "/{credential_id:int}",
        summary="Revoke one of a user's app passwords (audited)",
        status_code=204,
        responses=errors(401, 403, 404, 422),
    )
    async def revoke(self, bus: Bus, actor: Acting, user_id: UserId, credential_id: CredentialId) -> None:
        await bus(RevokeUserAppPassword(user_id, credential_id), actor)
