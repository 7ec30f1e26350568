"""Shared test configuration.

Services: integration tests that need PostgreSQL or Redis read ``SONO_TEST_POSTGRES_URL`` and
``SONO_TEST_REDIS_URL``. When a variable is unset they skip, except under CI (``CI`` set), where a
missing service is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from hypothesis import settings as hypothesis_settings

# Under CI, property tests draw the same examples on every run and keep no example database: a
# failure found elsewhere is not replayed from a stored file, and a run can be repeated exactly.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def _service_url(variable: str) -> str:
    url = os.environ.get(variable, "").strip()
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{variable} is not set but CI requires this service")
        pytest.skip(f"{variable} not set")
    return url


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The PostgreSQL server URL given to the tests (``postgresql://...``)."""
    return _service_url("SONO_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _service_url("SONO_TEST_REDIS_URL")


def _asyncpg_dsn(url: str) -> str:
    _, _, rest = url.partition("://")
    return f"postgresql://{rest}"


def _with_database(url: str, database: str) -> str:
    _, _, rest = url.partition("://")
    base = rest.rsplit("/", 1)[0] if "/" in rest else rest
    query = ""
    if "?" in rest:
        query = "?" + rest.split("?", 1)[1]
    return f"postgresql+asyncpg://{base}/{database}{query}"


@pytest.fixture
async def postgres_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test (``postgresql+asyncpg://...``), dropped after."""
    import asyncpg

    name = f"sono_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_asyncpg_dsn(postgres_server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield _with_database(postgres_server_url, name)
    finally:
        admin = await asyncpg.connect(_asyncpg_dsn(postgres_server_url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'sono.db'}"


@pytest.fixture
async def redis_clean_url(redis_url: str) -> AsyncIterator[str]:
    """A Redis URL on a database that is flushed before and after the test."""
    import redis.asyncio as aioredis

    url = redis_url.rstrip("/")
    if url.count("/") == 2:  # no database number given: use a dedicated one
        url = f"{url}/9"
    client = aioredis.from_url(url)
    await client.flushdb()
    try:
        yield url
    finally:
        await client.flushdb()
        await client.aclose()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3 service for the tests: a moto server on loopback (one per session; use a bucket of
    your own)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    saved = {name: os.environ.get(name) for name in ("NO_PROXY", "no_proxy")}
    for name in saved:  # botocore honours proxy variables: keep loopback traffic direct
        os.environ[name] = ",".join(filter(None, [saved[name], "127.0.0.1", "localhost"]))
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def data_dir(tmp_path) -> str:
    path = tmp_path / "data"
    path.mkdir()
    return str(path)
