"""Who may call a route, declared where the route is: ``guards=[signed_in]`` or
``guards=[admin_only]`` on a controller or a handler. Routes without a guard serve anonymous
callers too; they send their messages as the ``actor`` dependency (the caller, if any, or
anonymous).

A guard authenticates the bearer token once per request and keeps the principal on the scope;
the ``principal`` dependency hands it to the handler (and refuses to work on a route no guard
protects, so a handler cannot become protected or unprotected by a parameter's name).

Tokens: a malformed, forged or expired token is ``InvalidToken``; a genuine token of an ended
session is ``SessionEnded``. Guarded routes answer 401 for both; open routes ignore an invalid
token (the web client sends its possibly expired token everywhere) but answer 401 for an ended
session, so clients log out cleanly.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Headers, State
from litestar.di import NamedDependency, Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.params import HeaderParameter, SkipValidation
from litestar.types import Scope

from sono.application.accounts.messages import Authenticate
from sono.application.bus import MessageBus
from sono.application.common import Principal
from sono.application.messages import ANONYMOUS, Actor, Audience
from sono.bootstrap import Container
from sono.domain.errors import InvalidToken, NotAuthenticated
from sono.entrypoints.logs import bind_user

NOT_AUTHENTICATED = "Not authenticated"
PRINCIPAL_KEY = "sono.principal"
_ANONYMOUS = "sono.anonymous"

# How handlers ask for the dependencies below. The container and the caller skip validation:
# Litestar would otherwise convert these objects on every request.
AppContainer = NamedDependency[SkipValidation[Container]]
Caller = NamedDependency[SkipValidation[Principal]]
Bus = NamedDependency[SkipValidation[MessageBus]]
# Who sends the request's messages: the guard's principal on guarded routes, the optional
# caller (or anonymous) elsewhere.
Acting = NamedDependency[SkipValidation[Actor]]
PasswordsEncrypted = NamedDependency[bool]


def bearer_token(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


async def authenticate(scope: Scope, container: Container) -> Principal:
    """The caller of this request (``NotAuthenticated`` without a usable token). Authenticated at
    most once per request: the principal is kept on the scope."""
    state = scope["state"]
    principal: Principal | None = state.get(PRINCIPAL_KEY)
    if principal is None:
        token = bearer_token(Headers.from_scope(scope).get("authorization"))
        if token is None:
            raise NotAuthenticated(NOT_AUTHENTICATED)
        principal = state[PRINCIPAL_KEY] = await container.bus(Authenticate(token), ANONYMOUS)
        bind_user(principal.user_id)  # every later log line of this request names its caller
    return principal


async def optional_principal(scope: Scope, container: Container) -> Principal | None:
    """The caller, or None for an anonymous request or an invalid token. An ended session still
    raises ``SessionEnded``."""
    if scope["state"].get(_ANONYMOUS):
        return None
    try:
        return await authenticate(scope, container)
    except InvalidToken:
        scope["state"][_ANONYMOUS] = True
        return None
    except NotAuthenticated as exc:
        if type(exc) is NotAuthenticated:  # no token at all
            scope["state"][_ANONYMOUS] = True
            return None
        raise


# --------------------------------------------------------------------------- guards


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: a valid access token of a live session, else 401."""
    await authenticate(connection.scope, connection.app.state.container)


async def admin_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: an administrator's access token; 401 without a valid token, 403 for other users."""
    principal = await authenticate(connection.scope, connection.app.state.container)
    Audience.ADMIN.check(principal.actor)


# --------------------------------------------------------------------------- dependencies


def provide_container(state: State) -> Container:
    return state.container


def provide_principal(request: Request[Any, Any, Any], container: AppContainer) -> Principal:
    # ``container`` is not used: depending on it puts this dependency in a batch after the
    # container's, and Litestar resolves a batch of two or more in an anyio task group, which
    # costs more than the whole authentication of a request.
    principal: Principal | None = request.scope["state"].get(PRINCIPAL_KEY)
    if principal is None:
        raise RuntimeError(f"{request.method} {request.url.path}: `principal` needs the signed_in or admin_only guard")
    return principal


def provide_bus(container: AppContainer) -> MessageBus:
    # After the container, and ``actor`` after the bus (as ``principal`` after the container): a
    # chain, so that no two of them are ever resolved side by side (see ``provide_principal``).
    return container.bus


async def provide_actor(request: Request[Any, Any, Any], bus: Bus) -> Actor:
    principal = await optional_principal(request.scope, request.app.state.container)
    return principal.actor if principal is not None else ANONYMOUS


def client_ip(request: Request[Any, Any, Any]) -> str | None:
    """The client's address (the edge middleware has resolved trusted proxies already)."""
    client = request.client
    return client.host if client else None


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
    "principal": Provide(provide_principal, sync_to_thread=False),
    "bus": Provide(provide_bus, sync_to_thread=False),
    "actor": Provide(provide_actor),
    "encrypted": Provide(provide_password_encrypted, sync_to_thread=False),
}
