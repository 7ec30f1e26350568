"""What the audio API tests share: the app on SQLite with local storage and on PostgreSQL (with
Redis) with S3 (a moto server), uploads, the stored objects of either storage, fetching the media
URLs the API hands out, and counting SQL statements."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from sono.adapters.storage.local import LocalStorage
from sono.adapters.storage.s3 import S3Storage
from tests.integration.api.conftest import Account, Api, MakeApi, local_url

UPLOAD = "/api/v1/audio/upload"
MB = 1024 * 1024


async def audio_api(make_api: MakeApi, backend_env: dict[str, str], request: pytest.FixtureRequest) -> Api:
    """The ``api`` of the audio tests: SQLite with local storage, or PostgreSQL and Redis with S3
    (a bucket of its own)."""
    if "SONO_DATABASE_URL" not in backend_env:
        return await make_api()
    return await make_api(**s3_env(request.getfixturevalue("s3_endpoint")))


def s3_env(endpoint: str) -> dict[str, str]:
    return {
        "SONO_STORAGE": "s3",
        "SONO_S3_ENDPOINT_URL": endpoint,
        "SONO_S3_BUCKET": f"sono-{uuid.uuid4().hex[:12]}",
        "SONO_S3_ACCESS_KEY": "testing",
        "SONO_S3_SECRET_KEY": "testing",
    }


def on_s3(api: Api) -> bool:
    return isinstance(api.container.ports.storage, S3Storage)


async def upload(
    api: Api,
    account: Account | None,
    data: bytes,
    filename: str = "song.mp3",
    content_type: str = "audio/mpeg",
    **fields: str,
) -> httpx.Response:
    headers = account.headers if account is not None else {}
    return await api.client.post(UPLOAD, headers=headers, files={"file": (filename, data, content_type)}, data=fields)


async def stored_keys(api: Api) -> set[str]:
    """Every object in the app's storage."""
    storage = api.container.ports.storage
    if isinstance(storage, LocalStorage):
        root = Path(storage.root)
        if not root.exists():
            return set()
        return {
            str(path.relative_to(root))
            for path in root.rglob("*")
            if path.is_file() and not path.relative_to(root).parts[0].startswith(".")
        }
    assert isinstance(storage, S3Storage)
    client = await storage._s3()
    listed = await client.list_objects_v2(Bucket=storage.bucket)
    return {item["Key"] for item in listed.get("Contents", [])}


async def pending_keys(api: Api) -> list[str]:
    """Objects staged and never settled (what the jobs would purge once old)."""
    async with api.uow() as uow:
        return await uow.pending_objects.older_than(datetime(9999, 1, 1, tzinfo=UTC), 1000)


async def fetch(api: Api, url: str, headers: dict[str, str] | None = None, method: str = "GET") -> httpx.Response:
    """Fetch a media URL the API returned, as a client would: the API's own media route
    (in-process) or the S3 service (over loopback)."""
    if url.startswith("http://testserver.local/"):
        return await api.client.request(method, local_url(url), headers=headers)
    async with httpx.AsyncClient(trust_env=False) as client:
        return await client.request(method, url, headers=headers)


@contextmanager
def counted_statements(api: Api, catalog: Any = None) -> Iterator[list[str]]:
    """The SQL statements run inside the block: on the app's engine, and on the connection of the
    fast reads (session lookups and the lists of ``catalog``, by default the audio catalog). The
    maintenance switch's reads are left out, with the ``BEGIN`` SQLite runs before them: cached for
    a second per process, they come and go with time, not with the request."""
    statements: list[str] = []
    begun: dict[int, str] = {}  # a BEGIN per connection, held until what it begins is known
    engine = api.container.ports.uow.engine.sync_engine  # type: ignore[attr-defined]

    def record(statement: str) -> None:
        if "maintenance_state" not in statement:
            statements.append(statement)

    def record_cursor(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("BEGIN"):
            begun[id(conn)] = statement
            return
        begin = begun.pop(id(conn), None)
        if begin is not None and "maintenance_state" not in statement:
            statements.append(begin)
        record(statement)

    event.listen(engine, "before_cursor_execute", record_cursor)
    catalog = catalog or api.container.ports.audio_catalog
    stop = catalog.listen(record) if catalog is not None else None
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record_cursor)
        statements.extend(begun.values())  # a transaction begun that ran nothing yet
        if stop is not None:
            stop()
