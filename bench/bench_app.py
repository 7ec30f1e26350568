"""The Sono API plus one bare route, for ``bench/run.py``.

``uvicorn --factory --app-dir bench bench_app:create`` serves the real application (settings from
the environment, like ``sono serve``) with ``GET /bench/bare`` added: it answers the bytes of the
file named by ``BENCH_BARE_JSON_FILE`` (the JSON of ``GET /api/v1/users/me``, written there by the
benchmark), read once and then served from memory. Comparing the two shows what authentication,
the database and serialisation cost on top of the framework and the app-wide middleware.
"""

from __future__ import annotations

import os
from pathlib import Path

from litestar import Litestar, Response, get

from sono.entrypoints.http.app import app_from_env

_body: bytes | None = None


@get("/bench/bare", sync_to_thread=False, include_in_schema=False)
def bare() -> Response[bytes]:
    global _body
    if _body is None:
        _body = Path(os.environ["BENCH_BARE_JSON_FILE"]).read_bytes()
    return Response(_body, media_type="application/json")


def create() -> Litestar:
    app = app_from_env()
    app.register(bare)
    return app
