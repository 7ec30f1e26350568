"""The Sono API with ``bench_app``'s bare route, plus a switch for ``bench/bench_audio.py``:
``POST /bench/keep-pages/0`` makes the SQLite audio catalog read every public page (as when the
list changes between requests), ``/bench/keep-pages/1`` lets it keep unchanged pages again.

    uvicorn --factory --app-dir bench bench_audio_app:create
"""

from __future__ import annotations

from bench_app import create as create_with_bare_route
from litestar import Litestar, post

from sono.adapters.sqlalchemy.catalog import SqlAudioCatalog

PAGES_KEPT = SqlAudioCatalog.PAGES_KEPT


@post("/bench/keep-pages/{on:int}", status_code=204, sync_to_thread=False, include_in_schema=False)
def keep_pages(on: int) -> None:
    SqlAudioCatalog.PAGES_KEPT = PAGES_KEPT if on else 0


def create() -> Litestar:
    app = create_with_bare_route()
    app.register(keep_pages)
    return app
