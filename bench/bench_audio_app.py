"""The Sono API with ``bench_app``'s bare route, plus a switch for ``bench/bench_audio.py``:
``POST /bench/keep-pages/0`` makes the SQLite audio catalog read every public page (as when the
list changes between requests), ``/bench/keep-pages/1`` lets it keep unchanged pages again;
``POST /bench/drain`` reads a request body and throws it away (the ceiling of an upload through
this server: no parsing, no disk); ``GET /bench/stream/{mb}`` streams ``mb`` MiB from memory in
1 MiB chunks (the ceiling of a download through this server).

    uvicorn --factory --app-dir bench bench_audio_app:create
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from bench_app import create as create_with_bare_route
from litestar import Litestar, Request, get, post
from litestar.response import Stream

from sono.adapters.sqlalchemy.catalog import SqlAudioCatalog

PAGES_KEPT = SqlAudioCatalog.PAGES_KEPT


@post("/bench/keep-pages/{on:int}", status_code=204, sync_to_thread=False, include_in_schema=False)
def keep_pages(on: int) -> None:
    SqlAudioCatalog.PAGES_KEPT = PAGES_KEPT if on else 0


@post("/bench/drain", status_code=200, include_in_schema=False, request_max_body_size=None)
async def drain(request: Request[Any, Any, Any]) -> dict[str, int]:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return {"size": size}


_MIB = b"\0" * (1024 * 1024)


@get("/bench/stream/{mb:int}", include_in_schema=False)
async def stream(mb: int) -> Stream:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(mb):
            yield _MIB

    return Stream(chunks(), media_type="application/octet-stream", headers={"Content-Length": str(mb * len(_MIB))})


def create() -> Litestar:
    app = create_with_bare_route()
    app.register(keep_pages)
    app.register(drain)
    app.register(stream)
    return app
