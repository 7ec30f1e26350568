"""The OpenAPI document (security schemes, tags, documented error answers) and the docs pages,
which work offline: Swagger UI's assets are served from the ``swagger_ui`` package.

Litestar documents each route from its handler; ``complete_document`` then adds what the layers
around the handlers impose on every route alike (the body size limit, optional bodies, the headers
of error answers), so the controllers need not repeat it."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.enums import MediaType, OpenAPIMediaType
from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import (
    Components,
    OAuthFlow,
    OAuthFlows,
    OpenAPI,
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
    SecurityScheme,
    Tag,
)
from litestar.openapi.spec import OpenAPIMediaType as MediaTypeObject
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from sono import __version__
from sono.entrypoints.http.middleware import MAINTENANCE_EXEMPT
from sono.entrypoints.http.routes import get
from sono.entrypoints.http.schemas import ErrorBody, MaintenanceBody, ValidationErrorBody

DOCS_STATIC = "/docs/static"
SWAGGER_ASSETS = Path(importlib.util.find_spec("swagger_ui").origin or "swagger_ui").parent / "static"  # type: ignore[union-attr]
"""Swagger UI's files, found without importing the package (which loads a template engine)."""
EXEMPT = {MAINTENANCE_EXEMPT: True}

BEARER: list[dict[str, list[str]]] = [{"BearerToken": []}, {"OAuth2Password": []}]
"""The ``security`` of endpoints that need ``Authorization: Bearer <access_token>``."""

_SECURITY_SCHEMES: dict[str, Any] = {
    "BearerToken": SecurityScheme(
        type="http", scheme="bearer", bearer_format="JWT", description="An access token from `/api/v1/users/token`"
    ),
    "OAuth2Password": SecurityScheme(
        type="oauth2",
        description="Log in with a username (or email) and password",
        flows=OAuthFlows(password=OAuthFlow(token_url="/api/v1/users/token", scopes={})),
    ),
}
_TAGS = [
    Tag(name="Health", description="Liveness and readiness"),
    Tag(name="Users", description="Accounts, sessions, password reset and the caller's profile"),
    Tag(name="GDPR", description="Account deletion, data export and consents"),
    Tag(name="Maintenance", description="Maintenance mode"),
    Tag(name="Media", description="Stored media served by the API (local storage)"),
    Tag(name="Admin", description="Statistics and user moderation (administrators)"),
    Tag(name="Announcements", description="Announcements: published ones for everyone, all of them for admins"),
    Tag(name="Kworb", description="Spotify streaming charts from the Kworb database (read-only)"),
    Tag(name="Collections", description="Albums, playlists and compilations, their tracks and collaborators"),
    Tag(name="Audio", description="Audio files: uploads, lists, playback and downloads"),
]
_ERROR_DESCRIPTIONS = {
    400: "Bad request: malformed JSON, an invalid encrypted password, or a rule of the operation",
    401: "Not authenticated (`WWW-Authenticate: Bearer`)",
    403: "Authenticated but not allowed",
    404: "Not found, or not visible to the caller",
    409: "Conflict",
    413: "Request body or file too large",
    415: "Unsupported media type",
    416: "Range not satisfiable",
    422: "Validation error: one entry per failed rule, located at body/query/path/header",
    429: "Too many requests (see `Retry-After`)",
    500: "Internal server error",
    503: "Maintenance mode (see `Retry-After`)",
}


def errors(*statuses: int, maintenance: bool = True) -> dict[int, ResponseSpec]:
    """The documented error answers of an endpoint. 400 (malformed request) is always listed, and
    503 unless the endpoint stays open during maintenance. (413 is added to every endpoint with a
    request body by ``complete_document``.)"""
    listed = {*statuses, 400} | ({503} if maintenance else set())
    return {status: _error_spec(status) for status in sorted(listed)}


def text_validation_error() -> dict[int, ResponseSpec]:
    """The 422 of a route marked ``text_detail()``: ``{"detail": "<the first rule broken>"}``."""
    description = "Validation error: the first rule broken, as a string `detail`"
    return {422: ResponseSpec(data_container=ErrorBody, generate_examples=False, description=description)}


def _error_spec(status: int) -> ResponseSpec:
    body: type = {422: ValidationErrorBody, 503: MaintenanceBody}.get(status, ErrorBody)
    return ResponseSpec(data_container=body, generate_examples=False, description=_ERROR_DESCRIPTIONS[status])


def file_upload_operation(description: str, fields: dict[str, str] | None = None) -> type[Operation]:
    """An ``operation_class`` documenting a ``multipart/form-data`` body with one ``file`` part
    and optional text ``fields`` (name: description); the handler reads the stream itself, so
    Litestar cannot infer it."""

    @dataclass
    class FileUploadOperation(Operation):
        def __post_init__(self) -> None:
            file_schema = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY, description=description)
            texts = {name: Schema(type=OpenAPIType.STRING, description=text) for name, text in (fields or {}).items()}
            properties: dict[str, Schema | Reference] = {"file": file_schema, **texts}
            self.request_body = RequestBody(
                required=True,
                content={
                    "multipart/form-data": MediaTypeObject(
                        schema=Schema(type=OpenAPIType.OBJECT, properties=properties, required=["file"])
                    )
                },
            )

    return FileUploadOperation


swagger = SwaggerRenderPlugin(
    path="/swagger",
    js_url=f"{DOCS_STATIC}/swagger-ui-bundle.js",
    css_url=f"{DOCS_STATIC}/swagger-ui.css",
    standalone_preset_js_url=f"{DOCS_STATIC}/swagger-ui-standalone-preset.js",
    favicon=f"<link rel='icon' type='image/png' href='{DOCS_STATIC}/favicon-32x32.png'>",
)


# --------------------------------------------------------------------------- the whole document


def _header(description: str, type_: OpenAPIType = OpenAPIType.STRING) -> OpenAPIHeader:
    return OpenAPIHeader(schema=Schema(type=type_), description=description, required=True)


_ERROR_BODY = Reference(ref="#/components/schemas/ErrorBody")
_VALIDATION_BODY = Reference(ref="#/components/schemas/ValidationErrorBody")
_MAINTENANCE_BODY = "#/components/schemas/MaintenanceBody"
_RETRY_AFTER = _header("Seconds until the request may be retried", OpenAPIType.INTEGER)
_HEADERS_OF_STATUS: dict[str, dict[str, OpenAPIHeader]] = {
    "206": {"Content-Range": _header("`bytes <first>-<last>/<size>`")},
    "401": {"WWW-Authenticate": _header("`Bearer`")},
    "416": {"Content-Range": _header("`bytes */<size>`")},
    "429": {"Retry-After": _RETRY_AFTER},
}
_OPERATION_FIELDS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def complete_document(document: OpenAPI) -> OpenAPI:
    """Add to every operation what the application imposes on all routes alike (idempotent):

    - an operation with a request body answers 413 beyond the application's body size limit;
    - an operation with parameters or a body answers 422 when they break their rules (ids out of
      range, a NUL character in a query, ...);
    - a body whose schema admits ``null`` is optional (the handler's ``data`` defaults to None;
      Litestar marks every body as required);
    - error answers carry their headers: ``WWW-Authenticate`` on 401, ``Retry-After`` on 429 and on
      the maintenance 503, ``Content-Range`` on 206 and 416.
    """
    for path_item in (document.paths or {}).values():
        for name in _OPERATION_FIELDS:
            operation = getattr(path_item, name, None)
            if isinstance(operation, Operation):
                _complete_operation(operation)
    return document


def _complete_operation(operation: Operation) -> None:
    responses = dict(operation.responses or {})
    body = operation.request_body
    if isinstance(body, RequestBody):
        if body.required and all(_admits_null(media.schema) for media in body.content.values()):
            body.required = False
        responses.setdefault(
            "413",
            OpenAPIResponse(
                description=_ERROR_DESCRIPTIONS[413],
                content={MediaType.JSON.value: MediaTypeObject(schema=_ERROR_BODY)},
            ),
        )
    if operation.parameters or isinstance(body, RequestBody):
        responses.setdefault(
            "422",
            OpenAPIResponse(
                description=_ERROR_DESCRIPTIONS[422],
                content={MediaType.JSON.value: MediaTypeObject(schema=_VALIDATION_BODY)},
            ),
        )
    for status, response in responses.items():
        if not isinstance(response, OpenAPIResponse):
            continue
        headers = dict(_HEADERS_OF_STATUS.get(status, {}))
        if status == "503" and _refers_to(response, _MAINTENANCE_BODY):
            headers["Retry-After"] = _RETRY_AFTER
        if headers:
            response.headers = {**headers, **(response.headers or {})}
    if responses:
        operation.responses = dict(sorted(responses.items()))


def _admits_null(schema: Schema | Reference | None) -> bool:
    if not isinstance(schema, Schema):
        return False
    if schema.type == OpenAPIType.NULL:
        return True
    return any(_admits_null(option) for option in (*(schema.one_of or ()), *(schema.any_of or ())))


def _refers_to(response: OpenAPIResponse, ref: str) -> bool:
    return any(
        isinstance(media.schema, Reference) and media.schema.ref == ref for media in (response.content or {}).values()
    )


@dataclass
class _SonoOpenAPI(OpenAPI):
    """Litestar's document, completed by ``complete_document`` when it is rendered (by ``/openapi.json``,
    ``/docs`` and Litestar's own ``/schema`` routes alike)."""

    def to_schema(self) -> dict[str, Any]:
        complete_document(self)
        return super().to_schema()


class _SonoOpenAPIConfig(OpenAPIConfig):
    def to_openapi_schema(self) -> OpenAPI:
        document = super().to_openapi_schema()
        return _SonoOpenAPI(**{f.name: getattr(document, f.name) for f in fields(document)})


def openapi_config() -> OpenAPIConfig:
    """Litestar's own schema routes stay under ``/schema``; ``/docs`` and ``/openapi.json`` are
    served by ``docs_routes``."""
    return _SonoOpenAPIConfig(
        title="Sono API",
        version=__version__,
        description="The backend of Sono, a music sharing platform.",
        tags=_TAGS,
        components=Components(security_schemes=_SECURITY_SCHEMES),
        render_plugins=[swagger, JsonRenderPlugin(path="/openapi.json")],
        openapi_router=Router("/schema", route_handlers=[], include_in_schema=False, opt=EXEMPT),
    )


@get("/docs", media_type=MediaType.HTML, include_in_schema=False, opt=EXEMPT, sync_to_thread=False)
def docs_page(request: Request[Any, Any, Any]) -> bytes:
    return swagger.render(request, request.app.openapi_schema.to_schema())


@get(
    "/openapi.json",
    media_type=OpenAPIMediaType.OPENAPI_JSON,
    include_in_schema=False,
    opt=EXEMPT,
    sync_to_thread=False,
)
def openapi_document(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return request.app.openapi_schema.to_schema()


def docs_routes() -> list[ControllerRouterHandler]:
    assets = create_static_files_router(DOCS_STATIC, directories=[SWAGGER_ASSETS], name="docs-static", opt=EXEMPT)
    return [docs_page, openapi_document, assets]
