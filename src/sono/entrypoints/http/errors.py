"""Every error answers ``{"detail": ...}``: the domain's errors, Litestar's own (routing,
validation, body size, malformed JSON) and unexpected ones (a bare 500; the trace goes to the log
only). Validation failures of any origin use the 422 list form.

The use cases name the fields they refuse (``new_password``); where each field travelled is the
route's to say: ``opt=field_locations(password="query")`` (the body by default)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY, HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from sono.domain.errors import (
    BadRequest,
    Conflict,
    DeliveryFailed,
    FieldError,
    MaintenanceActive,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServiceUnavailable,
    SonoError,
    UnsupportedMedia,
    ValidationFailed,
)
from sono.entrypoints.http.logtext import printable
from sono.entrypoints.http.middleware import CLIENT_CLOSED_REQUEST, loggable_path
from sono.entrypoints.http.schemas import ErrorBody, FieldErrorBody, MaintenanceBody, ValidationErrorBody
from sono.entrypoints.logs import client_hung_up

log = logging.getLogger(__name__)

FIELD_LOCATIONS = "field_locations"
TEXT_DETAIL = "validation_detail_text"
FORM_BODY = "form_body"


def field_locations(**locations: str) -> dict[str, dict[str, str]]:
    """A route's ``opt`` saying where its fields travel (``password="query"``); the others are in
    the body."""
    return {FIELD_LOCATIONS: locations}


def text_detail() -> dict[str, bool]:
    """A route's ``opt`` for a 422 whose ``detail`` is a string naming the first rule broken, not
    the list (registration: the web shows ``detail`` as text there, as the original server sent)."""
    return {TEXT_DETAIL: True}


def form_body() -> dict[str, bool]:
    """A route's ``opt`` saying its body is a URL-encoded form: a 422 for a body of another type
    says so, instead of naming the fields the form lacks."""
    return {FORM_BODY: True}


Loc = tuple[str | int, ...]

NOT_AUTHENTICATED = "Not authenticated"
INVALID_JSON = "Invalid JSON body"
BODY_TOO_LARGE = "Request body too large"
INTERNAL_ERROR = "Internal server error"
CLIENT_CLOSED = "Client closed request"
FIELD_REQUIRED = "Field required"
FORM_EXPECTED = "Expected a form body (Content-Type: application/x-www-form-urlencoded)"
FORM_TYPE = "application/x-www-form-urlencoded"

STATUS_OF: dict[type[SonoError], int] = {
    BadRequest: 400,
    NotAuthenticated: 401,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    UnsupportedMedia: 415,
    ValidationFailed: 422,
    RateLimited: 429,
    DeliveryFailed: 500,  # its message is meant for the client (e.g. the reset email could not be sent)
    ServiceUnavailable: 503,
}

_MISSING_FIELD = re.compile(r"Object missing required field `(?P<name>[^`]+)`")
_MISSING_PARAMETER = re.compile(r"Missing required (?P<source>\w+) parameter '(?P<name>[^']+)'")
_PATH_SEGMENT = re.compile(r"[^.\[\]]+")


def error_response(status: int, detail: str, headers: Mapping[str, str] | None = None) -> Response[ErrorBody]:
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer", **(headers or {})}
    return Response(ErrorBody(detail), status_code=status, headers=headers)


def validation_error_response(
    errors: list[tuple[Loc, str, str]], request: Request[Any, Any, Any] | None = None, *, edge: bool = False
) -> Response[Any]:
    """The 422 list form; on a route marked ``text_detail()`` the first error as a string: a use
    case's message names its rule already (``Password must contain at least one number``), the
    edge's (``Field required``, from ``edge`` errors) get the field's name in front."""
    if request is not None and errors and _route_opt(request).get(TEXT_DETAIL):
        loc, msg, _ = errors[0]
        text = f"{loc[-1]}: {msg}" if edge and len(loc) > 1 else msg
        return Response(ErrorBody(text), status_code=HTTP_422_UNPROCESSABLE_ENTITY)
    body = ValidationErrorBody([FieldErrorBody(list(loc), msg, type_) for loc, msg, type_ in errors])
    return Response(body, status_code=HTTP_422_UNPROCESSABLE_ENTITY)


def _route_opt(request: Request[Any, Any, Any]) -> Mapping[str, Any]:
    try:
        return request.route_handler.opt
    except Exception:  # no route (routing failed)
        return {}


def located(request: Request[Any, Any, Any], errors: list[FieldError]) -> list[tuple[Loc, str, str]]:
    """The use case's field errors with the location of each field on this route."""
    locations: dict[str, str] = _route_opt(request).get(FIELD_LOCATIONS, {})
    return [((locations.get(e.field, "body"), e.field), e.msg, e.type) for e in errors]


def status_of(exc: SonoError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return HTTP_500_INTERNAL_SERVER_ERROR


def handle_sono_error(request: Request[Any, Any, Any], exc: SonoError) -> Response[Any]:
    if isinstance(exc, ValidationFailed):
        return validation_error_response(located(request, exc.errors), request)
    if isinstance(exc, MaintenanceActive):
        retry_after = exc.retry_after
        return Response(
            MaintenanceBody(exc.detail, status="maintenance", retry_after=retry_after),
            status_code=503,
            headers={"Retry-After": str(retry_after)},
        )
    status = status_of(exc)
    if status >= 500 and client_hung_up():
        return _hung_up(request, exc)
    if status >= 500:
        log.error("%s %s failed: %s: %s", *_request_line(request), type(exc).__name__, exc.detail)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return error_response(status, exc.detail, headers)


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's own errors: routing (404/405), request parsing and validation, body size."""
    if isinstance(exc, ValidationException):
        if _route_opt(request).get(FORM_BODY) and _media_type(request) != FORM_TYPE:
            return validation_error_response([(("body",), FORM_EXPECTED, "value_error")], request)
        return validation_error_response(_on_the_wire(request, field_errors(exc)), request, edge=True)
    status = exc.status_code
    if status == 413:
        detail = BODY_TOO_LARGE
    elif isinstance(exc.__cause__, SerializationException):
        detail = INVALID_JSON
    elif status >= 500 and client_hung_up():
        return _hung_up(request, exc)
    elif status >= 500:
        log.error("%s %s failed: %r", *_request_line(request), exc, exc_info=exc)
        detail = INTERNAL_ERROR
    else:
        detail = exc.detail
    return error_response(status, detail, exc.headers)


def _media_type(request: Request[Any, Any, Any]) -> str:
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


def _request_line(request: Request[Any, Any, Any]) -> tuple[str, str]:
    """The method and target as every error line quotes them: the one redaction of the access log."""
    return printable(request.method), loggable_path(request.scope)


def _hung_up(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    """The client went away before its answer was complete (mid-upload, say): what failed after
    that is no server error. One quiet line, no traceback; the answer goes nowhere."""
    log.info("%s %s: the client hung up (%s)", *_request_line(request), type(exc).__name__)
    return error_response(CLIENT_CLOSED_REQUEST, CLIENT_CLOSED)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    if client_hung_up():
        return _hung_up(request, exc)
    log.error("%s %s failed", *_request_line(request), exc_info=exc)
    return error_response(HTTP_500_INTERNAL_SERVER_ERROR, INTERNAL_ERROR)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    SonoError: handle_sono_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}


# --------------------------------------------------------------------------- validation


def field_errors(exc: ValidationException) -> list[tuple[Loc, str, str]]:
    """Litestar's validation failure as errors located at ``body``/``query``/``path``/``header``."""
    if isinstance(exc.extra, list) and exc.extra:
        return [_field_error(item) for item in exc.extra if isinstance(item, Mapping)]
    if missing := _MISSING_PARAMETER.search(exc.detail):
        return [((missing["source"], missing["name"]), FIELD_REQUIRED, "missing")]
    return [(("body",), exc.detail, "value_error")]


def _on_the_wire(request: Request[Any, Any, Any], errors: list[tuple[Loc, str, str]]) -> list[tuple[Loc, str, str]]:
    """Errors of parameters named by the client's name for them (``query``), not by the handler
    argument that receives them (``text``)."""
    names = _wire_names(request)
    return [
        ((loc[0], names.get(str(loc[1]), loc[1]), *loc[2:]), msg, type_)
        if len(loc) > 1 and loc[0] != "body"
        else (loc, msg, type_)
        for loc, msg, type_ in errors
    ]


def _wire_names(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The route's query, header and cookie parameters whose name differs from their argument's."""
    try:
        parameters = request.route_handler.parsed_fn_signature.parameters
    except Exception:  # no route (routing failed)
        return {}
    names: dict[str, str] = {}
    for argument, field in parameters.items():
        definition = field.kwarg_definition
        for alias in ("name", "query", "header", "cookie"):  # QueryParameter(name=...) or the older keywords
            wire = getattr(definition, alias, None)
            if isinstance(wire, str) and wire != argument:
                names[argument] = wire
                break
    return names


def _field_error(item: Mapping[str, Any]) -> tuple[Loc, str, str]:
    source = item.get("source") or "body"
    source = str(getattr(source, "value", source))  # Litestar's ParamType or a plain string
    message = str(item.get("message") or "Invalid value")
    path: list[str | int] = [int(s) if s.isdigit() else s for s in _PATH_SEGMENT.findall(str(item.get("key", "")))]
    if source == "body" and path[:1] == ["data"]:  # "data" is the handler's body parameter, not a field
        path = path[1:]
    if missing := _MISSING_FIELD.match(message):
        return (source, *path, missing["name"]), FIELD_REQUIRED, "missing"
    if message == "'data'":  # no body at all
        return ("body",), FIELD_REQUIRED, "missing"
    return (source, *path), message, "value_error"
