"""Raw ASGI layers, kept lean because every request passes through them.

``EdgeMiddleware`` wraps the whole application, so unknown routes and Litestar's own errors get the
same treatment: the request id (also in a context variable that every log record carries), the
client's IP behind trusted proxies, security headers and one access-log line per request.

``MaintenanceMiddleware`` runs per route, after routing: routes that stay open during maintenance
carry ``opt={MAINTENANCE_EXEMPT: True}``; on the others only admins get through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, ReceiveMessage, Scope, Send

from sono.application import context as request_context
from sono.config import IPNetwork
from sono.domain.errors import NotAuthenticated
from sono.entrypoints.http.logtext import printable
from sono.entrypoints.http.security import optional_principal
from sono.entrypoints.logs import LogContext, bound, new_request_id, redact_query

MAINTENANCE_EXEMPT = "maintenance_exempt"

access_log = logging.getLogger("sono.access")

SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


# --------------------------------------------------------------------------- edge


BODY_TIMED_OUT = "Request body timed out"


class BodyTimedOut(HTTPException):
    """The client stopped sending its body: 408, and the connection is closed (the server closes
    it after a ``Connection: close`` answer). What the request spooled is removed as its handler
    unwinds."""

    status_code = 408


def body_deadline(receive: Receive, idle_seconds: float, answering: Callable[[], bool] = lambda: False) -> Receive:
    """``receive`` for a request with a body: each wait for the next body chunk may last at most
    ``idle_seconds``, else ``BodyTimedOut`` is raised in whoever reads the body. Once the body is
    complete, or the answer has started (``answering()``), ``receive`` is the server's again (a
    streaming answer waits on it for the client's disconnection, for as long as it lasts)."""
    complete = False

    async def receive_or_time_out() -> ReceiveMessage:
        nonlocal complete
        if complete or answering():
            return await receive()
        try:
            async with asyncio.timeout(idle_seconds):
                message = await receive()
        except TimeoutError:
            raise BodyTimedOut(BODY_TIMED_OUT, headers={"Connection": "close"}) from None
        if message["type"] != "http.request" or not message.get("more_body", False):
            complete = True
        return message

    return receive_or_time_out


def _has_body(headers: Any) -> bool:
    for name, value in headers:
        if name == b"content-length":
            return value.strip() not in (b"", b"0")
        if name == b"transfer-encoding":
            return True
    return False


class EdgeMiddleware:
    """Wraps the whole application: one closure and one header list per request."""

    def __init__(
        self, app: ASGIApp, trusted_proxies: Sequence[IPNetwork] = (), *, body_idle_timeout: float = 30.0
    ) -> None:
        self.app = app
        self.trusted_proxies = tuple(trusted_proxies)
        self.body_idle_timeout = body_idle_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming_id, forwarded_for = _read_headers(scope["headers"])
        request_id = incoming_id or new_request_id()
        peer = scope.get("client")
        if peer and forwarded_for and self.trusted_proxies:
            scope["client"] = (client_address(peer[0], forwarded_for, self.trusted_proxies), peer[1])
        added_headers = [(b"x-request-id", request_id.encode()), *SECURITY_HEADERS]
        status = 500
        complete = False
        context = LogContext(method=scope["method"], scope=scope)

        answering = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, complete, answering
            if message["type"] == "http.response.start":
                status, answering = message["status"], True
                message["headers"] = [*message.get("headers", ()), *added_headers]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                complete = True
            await send(message)

        if _has_body(scope["headers"]):
            receive = body_deadline(receive, self.body_idle_timeout, lambda: answering)
        read = receive

        async def receive_watching_hang_ups() -> ReceiveMessage:
            message = await read()
            if message["type"] == "http.disconnect" and not complete:
                context.hung_up = True  # its answer will never arrive: 499 in the access log
            return message

        client = scope.get("client")
        # the request's id and address, bound once: the audit log and every log line read them
        served = request_context.enter(request_context.RequestInfo(request_id, client[0] if client else None))
        try:
            with bound(context):
                try:
                    refused = nul_refusal(scope)
                    if refused is None:
                        await self.app(scope, receive_watching_hang_ups, send_with_headers)
                    else:
                        await _send_json(send_with_headers, 422, refused)
                finally:
                    if access_log.isEnabledFor(logging.INFO):
                        client = scope.get("client")
                        logged_status = CLIENT_CLOSED_REQUEST if context.hung_up else status
                        duration_ms = round((time.perf_counter() - started) * 1000, 1)
                        target = loggable_path(scope)
                        access_log.info(
                            '%s "%s %s" %d %.1fms request_id=%s',
                            printable(str(client[0])) if client else "-",
                            printable(scope["method"]),
                            target,
                            logged_status,
                            duration_ms,
                            request_id,
                            extra={"status": logged_status, "duration_ms": duration_ms, "path": target},
                        )

        finally:
            request_context.leave(served)  # after the access line, which carries the id


CLIENT_CLOSED_REQUEST = 499
"""The access log's status for a request whose client hung up before its answer was complete."""


NUL_REFUSED = "Value must not contain NUL characters"


def nul_refusal(scope: Scope) -> bytes | None:
    """The 422 body for a query parameter carrying a NUL character (PostgreSQL refuses them in
    text; no route could use one), or None. Checked here, once, for every route; path parameters
    are checked by their routes, which know their names."""
    errors: list[dict[str, object]] = []
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in value or "\x00" in name:
                errors.append({"loc": ["query", printable(name)], "msg": NUL_REFUSED, "type": "value_error"})
    return msgspec.json.encode({"detail": errors}) if errors else None


async def _send_json(send: Send, status: int, body: bytes) -> None:
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _read_headers(headers: Any) -> tuple[str | None, str | None]:
    """A sane incoming ``X-Request-ID`` and the whole ``X-Forwarded-For`` chain, in one pass."""
    request_id: str | None = None
    forwarded: list[str] = []
    for name, value in headers:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            request_id = candidate if _REQUEST_ID.fullmatch(candidate) else None
        elif name == b"x-forwarded-for":
            forwarded.append(value.decode("latin-1"))
    return request_id, ",".join(forwarded) or None


def _is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: Sequence[IPNetwork]) -> bool:
    return any(address in network for network in trusted)


def client_address(peer: str, forwarded_for: str, trusted: Sequence[IPNetwork]) -> str:
    """The direct peer; or, when the peer is a trusted proxy, the right-most address of
    ``X-Forwarded-For`` that is not a trusted proxy itself (the addresses left of it are
    whatever the client claimed)."""
    try:
        if not _is_trusted(ipaddress.ip_address(peer), trusted):
            return peer
    except ValueError:
        return peer
    client = peer
    for hop in reversed(forwarded_for.split(",")):
        try:
            address = ipaddress.ip_address(hop.strip())
        except ValueError:
            break
        client = str(address)
        if not _is_trusted(address, trusted):
            break
    return client


def loggable_path(scope: Scope) -> str:
    """The path and query string as log lines quote them (the access line and the error lines):
    credentials redacted (``sono.entrypoints.logs.is_secret``) and anything non-printable escaped
    (see ``printable``)."""
    query = scope.get("query_string", b"").decode("latin-1")
    if not query:
        return printable(scope["path"])
    return printable(f"{scope['path']}?{redact_query(query)}")


# --------------------------------------------------------------------------- maintenance


class MaintenanceMiddleware(ASGIMiddleware):
    """While maintenance is on, only admins (a valid admin access token) get past this; everyone
    else gets the 503 maintenance answer (the rule itself is the maintenance service's). One cached
    read of the state per request otherwise."""

    scopes = (ScopeType.HTTP,)
    exclude_opt_key = MAINTENANCE_EXEMPT

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        container = scope["litestar_app"].state.container
        state = await container.maintenance.status()
        if state.enabled:
            try:
                principal = await optional_principal(scope, container)
            except NotAuthenticated:  # an ended session: not an admin's
                principal = None
            await container.maintenance.enforce(is_admin=principal is not None and principal.is_admin)
        await next_app(scope, receive, send)
