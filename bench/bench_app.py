"""The Sono API plus one bare route, for ``bench/run.py``.

``uvicorn --factory --app-dir bench bench_app:create`` serves the real application (settings from
the environment, like ``sono serve``) with ``GET /bench/bare`` added: it answers the bytes of the
file named by ``BENCH_BARE_JSON_FILE`` (the JSON of ``GET /api/v1/users/me``, written there by the
benchmark), read once and then served from memory. Comparing the two shows what authentication,
the database and serialisation cost on top of the framework and the app-wide middleware.

``BENCH_BARE_NAMES`` (comma-separated names) adds one such route per name, ``GET /bench/bare/<name>``,
answering the bytes of ``$BENCH_BARE_DIR/<name>.json`` (read at its first request, then from memory):
``bench/bench_production.py`` compares several endpoints with bare routes in one server.
"""

from __future__ import annotations

import os
from pathlib import Path

from litestar import Litestar, Response, get
from litestar.handlers import HTTPRouteHandler

from sono.entrypoints.http.app import app_from_env

_body: bytes | None = None


@get("/bench/bare", sync_to_thread=False, include_in_schema=False)
def bare() -> Response[bytes]:
    global _body
    if _body is None:
        _body = Path(os.environ["BENCH_BARE_JSON_FILE"]).read_bytes()
    return Response(_body, media_type="application/json")


def named_bare(name: str, file: Path) -> HTTPRouteHandler:
    """``GET /bench/bare/<name>``: the bytes of ``file``, read once (a static path, like the
    routes it stands beside, so the router does the same work)."""
    body: list[bytes] = []

    @get(f"/bench/bare/{name}", name=f"bench-bare-{name}", sync_to_thread=False, include_in_schema=False)
    def handler() -> Response[bytes]:
        if not body:
            body.append(file.read_bytes())
        return Response(body[0], media_type="application/json")

    return handler


def create() -> Litestar:
    app = app_from_env()
    app.register(bare)
    names = [name.strip() for name in os.environ.get("BENCH_BARE_NAMES", "").split(",") if name.strip()]
    for name in names:
        app.register(named_bare(name, Path(os.environ["BENCH_BARE_DIR"]) / f"{name}.json"))
    return app
