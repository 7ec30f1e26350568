"""Dependencies shared by the controllers: the container, the caller (bearer token), admins, the
client's IP and whether the request's passwords are encrypted."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.datastructures import Headers, State
from litestar.di import NamedDependency, Provide
from litestar.params import HeaderParameter, SkipValidation
from litestar.types import Scope

from sono.application.common import Principal
from sono.bootstrap import Container
from sono.domain.errors import NotAuthenticated, PermissionDenied
from sono.entrypoints.http.errors import NOT_AUTHENTICATED

# How handlers ask for the dependencies below. The container and the caller skip validation:
# Litestar would otherwise convert these objects on every request.
AppContainer = NamedDependency[SkipValidation[Container]]
Caller = NamedDependency[SkipValidation[Principal]]
ClientIp = NamedDependency[str | None]
PasswordsEncrypted = NamedDependency[bool]

PRINCIPAL_KEY = "sono.principal"
NOT_ADMIN = "Not enough permissions"


def bearer_token(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


async def authenticate(scope: Scope, container: Container) -> Principal:
    """The caller of this request. Authenticated at most once per request: the principal is kept
    on the scope (the maintenance check may have authenticated it already)."""
    state = scope["state"]
    principal: Principal | None = state.get(PRINCIPAL_KEY)
    if principal is None:
        token = bearer_token(Headers.from_scope(scope).get("authorization"))
        if token is None:
            raise NotAuthenticated(NOT_AUTHENTICATED)
        principal = state[PRINCIPAL_KEY] = await container.auth.authenticate(token)
    return principal


def client_ip(request: Request[Any, Any, Any]) -> str | None:
    """The client's address (the edge middleware has resolved trusted proxies already)."""
    client = request.client
    return client.host if client else None


def provide_container(state: State) -> Container:
    return state.container


async def provide_principal(request: Request[Any, Any, Any], container: AppContainer) -> Principal:
    return await authenticate(request.scope, container)


async def provide_admin(principal: Caller) -> Principal:
    if not principal.is_admin:
        raise PermissionDenied(NOT_ADMIN)
    return principal


def provide_password_encrypted(
    x_password_encrypted: Annotated[
        str | None,
        HeaderParameter(
            name="X-Password-Encrypted",
            required=False,
            description="`true`: every password field of the request is RSA-OAEP-256 encrypted, base64",
        ),
    ] = None,
) -> bool:
    return (x_password_encrypted or "").strip().lower() == "true"


DEPENDENCIES = {
    "container": Provide(provide_container, sync_to_thread=False),
    "principal": Provide(provide_principal),
    "admin": Provide(provide_admin),
    "ip": Provide(client_ip, sync_to_thread=False),
    "encrypted": Provide(provide_password_encrypted, sync_to_thread=False),
}
