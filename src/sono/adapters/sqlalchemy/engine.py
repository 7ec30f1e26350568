"""Async engines for PostgreSQL (asyncpg) and SQLite (aiosqlite)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_BEGIN_OPTION = "sono_sqlite_begin"
_SQLITE_PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA synchronous=NORMAL",
)


def create_engine(url: str) -> AsyncEngine:
    """An engine for ``postgresql+asyncpg://`` or ``sqlite+aiosqlite://`` URLs."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    return create_async_engine(
        parsed,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"server_settings": {"application_name": "sono"}},
    )


def with_deferred_begin(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (and pool), except that SQLite transactions begin ``DEFERRED``: they take
    the write lock only when they first write. For read-only units of work."""
    return engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"})


async def ping(engine: AsyncEngine) -> None:
    """Raise if the database cannot answer a trivial query (readiness). Takes no write lock."""
    async with with_deferred_begin(engine).connect() as connection:
        await connection.execute(text("SELECT 1"))


def _sqlite_engine(url: URL) -> AsyncEngine:
    """SQLite in WAL mode where transactions start with ``BEGIN IMMEDIATE`` (unless
    ``with_deferred_begin``): taking the write lock up front serialises writers, each waiting up
    to ``busy_timeout``, where two deferred transactions that both read and then write would fail
    with "database is locked" (the second one's snapshot is stale once the first commits)."""
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cursor = dbapi_connection.cursor()
        try:
            for pragma in _SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine
