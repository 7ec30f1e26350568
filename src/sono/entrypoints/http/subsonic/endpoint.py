"""The Subsonic API over HTTP: ``/rest/<method>`` and ``/rest/<method>.view``, GET, HEAD and a
form-encoded POST, served by one Litestar route of the same application as the JSON API (kept out
of its OpenAPI document), behind the same edge middleware (request id, access log with credentials
redacted, security headers) and metrics (labelled ``/rest/<method>``; every method Sono does not
implement shares one label).

Per request: the parameters are parsed (``request``), the method looked up (unknown or
unimplemented: HTTP 501 with an error-0 document), the caller authenticated through the core
(``AuthenticateAppPassword``; failures count against a per-IP limit), maintenance enforced, and the
method run (``methods``). Every error of the core is mapped to a Subsonic code here; an unexpected
one is logged and answered as error 0, never as a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import HttpMethod, Request, Response, route

from sono.application.app_passwords.messages import (
    ApiKeyCredential,
    AppPasswordRefused,
    AuthenticateAppPassword,
    PasswordCredential,
    Refusal,
    TokenCredential,
)
from sono.application.messages import ANONYMOUS, Actor
from sono.bootstrap import Container
from sono.domain.errors import (
    BadRequest,
    Conflict,
    MaintenanceActive,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    SonoError,
    UnsupportedMedia,
    ValidationFailed,
)
from sono.entrypoints.http.middleware import MAINTENANCE_EXEMPT
from sono.entrypoints.http.security import AppContainer, client_ip
from sono.entrypoints.subsonic import auth, errors
from sono.entrypoints.subsonic.errors import ErrorCode, SubsonicError
from sono.entrypoints.subsonic.request import (
    MAX_FORM_BYTES,
    RequestRefused,
    SubsonicRequest,
    decode_pairs,
    parse_request,
)
from sono.entrypoints.subsonic.response import JSON, XML, Format, Rendered, render_error

log = logging.getLogger(__name__)

UNIMPLEMENTED_LABEL = "/rest/<unimplemented>"
NOT_IMPLEMENTED = "Not implemented by this server"
TOO_MANY_REQUESTS = "Too many requests"
BODY_TOO_LARGE = "Request body too large"
NUL_REFUSED = "Parameters must not contain NUL characters"
SUCCESS_LIMIT = (3000, 60)
"""Requests per IP and minute: a generous ceiling (a library sync pages songs and then fetches
covers in bursts)."""
FAILURE_LIMIT = (20, 60)
FAILURES_SCOPE = "subsonic-auth-failures"
"""Failed authentications per IP and minute; beyond it 429 with ``Retry-After``."""
_FORM = "application/x-www-form-urlencoded"
_AUTH_FAILURES = frozenset({ErrorCode.WRONG_CREDENTIALS, ErrorCode.INVALID_API_KEY})
"""What counts as a failed authentication: a secret or key that was checked and did not match (a
refused mechanism, 41, checks nothing)."""

Answer = Rendered | Response[Any]


@dataclass(frozen=True, slots=True)
class Call:
    """What a method works with: the HTTP request (for binary answers), the parsed Subsonic
    request, the container and who asks."""

    http: Request[Any, Any, Any]
    request: SubsonicRequest
    container: Container
    actor: Actor

    @property
    def format(self) -> Format:
        return self.request.format


Handler = Callable[[Call], Awaitable[Answer]]


@dataclass(frozen=True, slots=True)
class Method:
    handler: Handler
    authenticated: bool = True
    binary: bool = False  # answers bytes; its errors are still documents, maintenance is 503


class Methods:
    """The implemented methods by name (a registry, filled once at import by ``methods``)."""

    def __init__(self) -> None:
        self._methods: dict[str, Method] = {}

    def add(self, name: str, *, authenticated: bool = True, binary: bool = False) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if name in self._methods:
                raise ValueError(f"{name} registered twice")
            self._methods[name] = Method(handler, authenticated, binary)
            return handler

        return register

    def get(self, name: str) -> Method | None:
        return self._methods.get(name)

    @property
    def names(self) -> list[str]:
        return sorted(self._methods)


METHODS = Methods()


def document(
    fmt: Format, error: SubsonicError, status: int = 200, headers: dict[str, str] | None = None
) -> Response[Any]:
    rendered = render_error(fmt, error)
    return Response(rendered.body, status_code=status, media_type=rendered.media_type, headers=headers)


def answered(rendered: Answer) -> Response[Any]:
    if isinstance(rendered, Rendered):
        return Response(rendered.body, media_type=rendered.media_type)
    return rendered


def subsonic_error(exc: SonoError, container: Container) -> SubsonicError:
    """The Subsonic error for an error of the core."""
    if isinstance(exc, NotFound):
        return errors.not_found()
    if isinstance(exc, PermissionDenied):
        return errors.not_authorized()
    if isinstance(exc, NotAuthenticated):  # the caller's account ended while the request ran
        return errors.wrong_credentials(help_url(container))
    if isinstance(exc, ValidationFailed):
        first = exc.errors[0].msg if exc.errors else exc.detail
        return errors.generic(first)
    if isinstance(exc, BadRequest | Conflict | UnsupportedMedia | PayloadTooLarge | MaintenanceActive):
        return errors.generic(exc.detail)
    return errors.generic("Request failed")


def help_url(container: Container) -> str:
    return errors.app_passwords_url(container.settings.public_url or "")


def _token_auth(container: Container) -> bool:
    return container.settings.subsonic_token_auth


async def authenticate(container: Container, request: SubsonicRequest) -> Actor:
    """The caller, or the ``SubsonicError`` their credentials get (the decision table first,
    then the core's check of the app password)."""
    where = help_url(container)
    presented = auth.credentials(request.params, token_auth=_token_auth(container), help_url=where)
    credential: ApiKeyCredential | PasswordCredential | TokenCredential
    if isinstance(presented, auth.ApiKey):
        credential = ApiKeyCredential(presented.key)
    elif isinstance(presented, auth.Password):
        credential = PasswordCredential(presented.username, presented.password)
    else:
        credential = TokenCredential(presented.username, presented.token, presented.salt)
    try:
        return await container.bus(AuthenticateAppPassword(credential, client=request.client), ANONYMOUS)
    except AppPasswordRefused as refused:
        if refused.reason is Refusal.INVALID_API_KEY:
            raise errors.invalid_api_key() from None
        if refused.reason is Refusal.TOKEN_AUTH_DISABLED:
            raise errors.token_auth_not_supported(where) from None
        raise errors.wrong_credentials(where) from None


async def _limited(
    container: Container, scope: str, ip: str, limit: tuple[int, int], *, count: bool = True
) -> int | None:
    if not container.settings.rate_limits_enabled:
        return None
    limiter = container.ports.rate_limiter
    return await (limiter.hit if count else limiter.peek)(scope, ip, *limit)


async def _form(http: Request[Any, Any, Any]) -> list[tuple[str, str]]:
    """The pairs of a form-encoded POST body (other bodies are ignored), at most
    ``MAX_FORM_BYTES``."""
    if http.method != HttpMethod.POST:
        return []
    content_type = http.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != _FORM:
        return []
    body = bytearray()
    async for chunk in http.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise RequestRefused(errors.generic(BODY_TOO_LARGE), XML)
    pairs = decode_pairs(bytes(body))
    if any("\x00" in name or "\x00" in value for name, value in pairs):  # as the edge refuses them in queries
        raise RequestRefused(errors.generic(NUL_REFUSED), XML)
    return pairs


def _label(http: Request[Any, Any, Any], name: str) -> None:
    """The metrics label of this request (bounded: the implemented methods, then one more)."""
    http.scope["path_template"] = f"/rest/{name}" if METHODS.get(name) is not None else UNIMPLEMENTED_LABEL


@route(
    ["/rest", "/rest/{path:path}"],
    http_method=[HttpMethod.GET, HttpMethod.HEAD, HttpMethod.POST],
    include_in_schema=False,
    status_code=200,
    opt={MAINTENANCE_EXEMPT: True},  # maintenance is answered below, in the protocol's form
    request_max_body_size=None,  # the form body is capped while it is read
)
async def rest(request: Request[Any, Any, Any], container: AppContainer) -> Response[Any]:
    http = request
    _label(http, "")
    ip = client_ip(http) or "unknown"
    fmt: Format = XML
    try:
        query = decode_pairs(http.scope.get("query_string", b""))
        parsed = parse_request(http.scope["path"], query, await _form(http))
    except RequestRefused as refused:
        return document(refused.format, refused)
    fmt = parsed.format
    _label(http, parsed.method)
    method = METHODS.get(parsed.method)
    if method is None:
        return document(fmt, errors.generic(NOT_IMPLEMENTED), status=501)
    retry_after = await _limited(container, "subsonic", ip, SUCCESS_LIMIT)
    if retry_after is not None:
        return document(fmt, errors.generic(TOO_MANY_REQUESTS), 429, {"Retry-After": str(retry_after)})
    try:
        actor = ANONYMOUS
        if method.authenticated:
            # an address over the limit of failures is refused before its credentials are checked
            # (a right guess then must wait too); each failure counts
            retry_after = await _limited(container, FAILURES_SCOPE, ip, FAILURE_LIMIT, count=False)
            if retry_after is None:
                try:
                    actor = await authenticate(container, parsed)
                except SubsonicError as refused:
                    if refused.code in _AUTH_FAILURES:
                        retry_after = await _limited(container, FAILURES_SCOPE, ip, FAILURE_LIMIT)
                    if retry_after is None:
                        raise
            if retry_after is not None:
                headers = {"Retry-After": str(retry_after)}
                return document(fmt, errors.wrong_credentials(help_url(container)), 429, headers)
            if (await container.maintenance.status()).enabled:
                await container.maintenance.enforce(is_admin=actor.is_admin)
        return answered(await method.handler(Call(http, parsed, container, actor)))
    except SubsonicError as error:
        return document(fmt, error)
    except MaintenanceActive as maintenance:
        closed = errors.generic(maintenance.detail)
        if method.binary:
            return document(fmt, closed, 503, {"Retry-After": str(maintenance.retry_after)})
        return document(fmt, closed)
    except RateLimited as limited:
        return document(fmt, errors.generic(limited.detail), 429, {"Retry-After": str(limited.retry_after)})
    except SonoError as exc:
        mapped = subsonic_error(exc, container)
        if mapped.code is ErrorCode.GENERIC and not isinstance(exc, ValidationFailed | BadRequest | Conflict):
            log.warning("subsonic %s failed: %s: %s", parsed.method, type(exc).__name__, exc.detail)
        return document(fmt, mapped)
    except Exception:
        log.exception("subsonic %s failed", parsed.method)
        return document(fmt, errors.generic("Internal error"))


__all__ = ["JSON", "METHODS", "XML", "Call", "rest"]
