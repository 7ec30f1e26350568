"""The JSON API's route decorators: Litestar's ``get``, ``post``, ``put``, ``delete`` and
``patch``, whose guards are given the route handler itself. Litestar hands each guard a copy of the
handler, made for every guard of every request so that a guard cannot change the route; Sono's
guards (``security.signed_in``, ``security.admin_only``) only read the connection, and that copy
cost more than authenticating the request's token."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler


class Route(HTTPRouteHandler):
    """An HTTP route handler whose guards see the handler as it is."""

    __slots__ = ()

    async def authorize_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        for guard in self.resolve_guards():
            await guard(connection, self)  # type: ignore[misc]  # as Litestar awaits it


def get(path: str | None = None, **options: Any) -> Route:
    return Route(path, http_method=HttpMethod.GET, **options)


def post(path: str | None = None, **options: Any) -> Route:
    return Route(path, http_method=HttpMethod.POST, **options)


def put(path: str | None = None, **options: Any) -> Route:
    return Route(path, http_method=HttpMethod.PUT, **options)


def patch(path: str | None = None, **options: Any) -> Route:
    return Route(path, http_method=HttpMethod.PATCH, **options)


def delete(path: str | None = None, **options: Any) -> Route:
    return Route(path, http_method=HttpMethod.DELETE, **options)
