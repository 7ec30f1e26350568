"""Shared test configuration.

Services: integration tests that need PostgreSQL or Redis read ``SONO_TEST_POSTGRES_URL`` and
``SONO_TEST_REDIS_URL``. When a variable is unset they skip, except under CI (``CI`` set), where a
missing service is a failure.

Parallel runs: the suite runs on several pytest-xdist workers (``-n`` in pyproject's ``addopts``;
``-n 0`` runs it in one process). Nothing the workers share is fixed: each PostgreSQL database has a
name of its own, TCP ports are picked free, paths are under each test's ``tmp_path``, and Redis
tests use one database per worker: worker ``gwI`` uses database ``(base + I) % 16``, ``base`` being
the database of ``SONO_TEST_REDIS_URL`` (9 when it names none). So with ``.../0`` and four workers
the suite uses databases 0-3, with ``.../12`` databases 12-15: leave them to the tests. No test
flushes more than its worker's database.
"""

from __future__ import annotations

import asyncio
import graphlib
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# Property tests have no deadline: how long an example takes is the machine's business, never a
# failure (the machines are shared and their speed varies several-fold). Under CI they also draw the
# same examples on every run and keep no example database: a failure found elsewhere is not
# replayed from a stored file, and a run can be repeated exactly.
hypothesis_settings.register_profile("sono", deadline=None)
hypothesis_settings.register_profile(
    "ci", parent=hypothesis_settings.get_profile("sono"), derandomize=True, database=None, print_blob=True
)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "sono")


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


def worker_index() -> int:
    """This pytest-xdist worker's number (``gw3`` is 3); 0 without xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw") or 0)


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


@dataclass(frozen=True)
class MigratedDatabase:
    """A PostgreSQL database just migrated, and what it holds then: the rows the migrations wrote
    and where its sequences stand. ``reset`` puts it back in that state, in a fraction of what a
    new database costs (``CREATE DATABASE`` and the migrations take about a second with fsync on)."""

    url: str
    tables: tuple[str, ...]  # referencing tables first
    rows: dict[str, tuple[tuple[str, ...], list[tuple[object, ...]]]]  # table -> columns, rows
    sequences: dict[str, tuple[int, bool]]  # sequence -> last_value, is_called

    @classmethod
    async def snapshot(cls, url: str) -> MigratedDatabase:
        import asyncpg

        connection = await asyncpg.connect(_asyncpg_dsn(url))
        try:
            found = await connection.fetch(
                "SELECT c.oid, format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')"
                " AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND c.relname <> 'alembic_version'"
            )
            references = await connection.fetch("SELECT conrelid, confrelid FROM pg_constraint WHERE contype = 'f'")
            names = {row["oid"]: row["name"] for row in found}
            referenced_by: dict[int, set[int]] = {oid: set() for oid in names}
            for child, parent in references:
                if child in names and parent in names and child != parent:
                    referenced_by[parent].add(child)
            tables = tuple(names[oid] for oid in graphlib.TopologicalSorter(referenced_by).static_order())
            rows = {}
            for table in tables:
                records = await connection.fetch(f"SELECT * FROM {table}")
                if records:
                    rows[table] = (tuple(records[0].keys()), [tuple(record.values()) for record in records])
            sequences = {}
            for (sequence,) in await connection.fetch(
                "SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences"
                " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
            ):
                state = await connection.fetchrow(f"SELECT last_value, is_called FROM {sequence}")
                assert state is not None
                sequences[sequence] = (state["last_value"], state["is_called"])
        finally:
            await connection.close()
        return cls(url, tables, rows, sequences)

    async def reset(self) -> None:
        import asyncpg

        database = self.url.rsplit("/", 1)[1].split("?", 1)[0]
        connection = await asyncpg.connect(_asyncpg_dsn(self.url))
        try:
            # A connection the last test left open must not hold a lock on a table emptied here.
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                database,
            )
            async with connection.transaction():
                await connection.execute(";".join(f"DELETE FROM {table}" for table in self.tables))
                for table in reversed(self.tables):  # referenced tables first
                    if table in self.rows:
                        columns, records = self.rows[table]
                        schema, name = (part.strip('"') for part in table.split(".", 1))
                        await connection.copy_records_to_table(
                            name, schema_name=schema, columns=columns, records=records
                        )
                for sequence, (last_value, is_called) in self.sequences.items():
                    await connection.execute("SELECT setval($1::regclass, $2, $3)", sequence, last_value, is_called)
        finally:
            await connection.close()


@pytest.fixture(scope="session")
def _postgres_migrated_database(postgres_server_url: str) -> Iterator[MigratedDatabase]:
    """One database of this worker, migrated once for the session; dropped at its end."""
    import asyncpg

    from sono.adapters.sqlalchemy.migrate import upgrade

    name = f"sono_test_gw{worker_index()}_{uuid.uuid4().hex[:12]}"
    url = _with_database(postgres_server_url, name)

    async def create() -> MigratedDatabase:
        admin = await asyncpg.connect(_asyncpg_dsn(postgres_server_url))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        await upgrade(url)
        return await MigratedDatabase.snapshot(url)

    async def drop() -> None:
        admin = await asyncpg.connect(_asyncpg_dsn(postgres_server_url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    database = asyncio.run(create())
    try:
        yield database
    finally:
        asyncio.run(drop())


@pytest.fixture
async def postgres_migrated_url(_postgres_migrated_database: MigratedDatabase) -> str:
    """A PostgreSQL database as ``sono db upgrade`` leaves a new one (``postgresql+asyncpg://...``).
    It is this worker's one database, put back before each test in the state it had just after
    the migrations (rows deleted, the migrations' rows written again, sequences set back): a test
    must not change its schema (``postgres_url`` gives a database of its own, empty)."""
    await _postgres_migrated_database.reset()
    return _postgres_migrated_database.url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'sono.db'}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once for the session, to copy (``migrated_sqlite``)."""
    from sono.adapters.sqlalchemy.migrate import upgrade

    path = tmp_path_factory.mktemp("sqlite-template") / "sono.db"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


def migrated_sqlite(template: Path, path: Path) -> str:
    """A copy of the migrated ``template`` at ``path`` (through SQLite's backup, which copies a
    consistent database whatever its journal); its URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(template)
    target = sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def sqlite_migrated_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh migrated SQLite database (a copy of the session's template)."""
    return migrated_sqlite(sqlite_template, tmp_path / "sono.db")


@pytest.fixture
async def redis_clean_url(redis_url: str) -> AsyncIterator[str]:
    """A Redis URL on this worker's database, flushed before and after the test."""
    import redis.asyncio as aioredis

    url = redis_url.rstrip("/")
    if url.count("/") == 2:  # no database number given: use a dedicated one
        url = f"{url}/9"
    server, _, base = url.rpartition("/")
    url = f"{server}/{(int(base) + worker_index()) % 16}"  # this worker's database (see above)
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
