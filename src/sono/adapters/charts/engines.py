"""The charts database's engines, apart from Sono's main one: a small read-only pool for the API
and a one-shot writable engine for the importer.

Read-only means: on PostgreSQL every transaction is ``READ ONLY`` (``default_transaction_read_only``)
with a short ``statement_timeout``; SQLite files are opened with ``mode=ro`` and
``PRAGMA query_only``. Connecting is bounded too, so an unreachable database answers within
seconds. Statements' parameters (artist names) stay out of error messages and logs."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import event, make_url
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from sono.domain.charts import fold

CONNECT_TIMEOUT_SECONDS = 3.0
STATEMENT_TIMEOUT_SECONDS = 3.0
SQLITE_BUSY_TIMEOUT_SECONDS = 2.0
FOLD_FUNCTION = "sono_fold"
"""On SQLite, ``sono.domain.charts.fold`` as an SQL function (SQLite's ``lower`` only knows ASCII)."""


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def reader_engine(url: str) -> AsyncEngine:
    """A small pool of read-only connections to ``url`` (``postgresql+asyncpg://`` or
    ``sqlite+aiosqlite://``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        read_only = _read_only_sqlite_url(parsed)
        engine = create_async_engine(
            read_only,
            hide_parameters=True,
            pool_size=2,
            max_overflow=2,
            pool_timeout=CONNECT_TIMEOUT_SECONDS,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )

        database = Path(unquote(urlsplit(read_only.database or "").path))

        @event.listens_for(engine.sync_engine, "do_connect")
        def _refuse_missing_file(*_args: Any) -> None:
            # SQLite would refuse too, but aiosqlite's worker thread of a failed connection may
            # outlive its event loop.
            if not database.is_file():
                raise FileNotFoundError(f"no SQLite database file {database}")

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.create_function(FOLD_FUNCTION, 1, _fold, deterministic=True)
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("PRAGMA query_only = ON")
            finally:
                cursor.close()

        return engine
    statement_ms = str(int(STATEMENT_TIMEOUT_SECONDS * 1000))
    return create_async_engine(
        parsed,
        hide_parameters=True,
        pool_size=2,
        max_overflow=3,
        pool_timeout=CONNECT_TIMEOUT_SECONDS,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={
            "timeout": CONNECT_TIMEOUT_SECONDS,
            "command_timeout": STATEMENT_TIMEOUT_SECONDS + 1,
            "server_settings": {
                "application_name": "sono-charts",
                "default_transaction_read_only": "on",
                "statement_timeout": statement_ms,
            },
        },
    )


def writer_engine(url: str) -> AsyncEngine:
    """An engine for one import (no pool kept). On SQLite the file and its folder are created when
    missing, and transactions take the write lock when they begin."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(
            parsed, hide_parameters=True, poolclass=NullPool, connect_args={"timeout": 10 * CONNECT_TIMEOUT_SECONDS}
        )
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(parsed, hide_parameters=True, poolclass=NullPool, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _read_only_sqlite_url(url: URL) -> URL:
    """The same SQLite file as a ``file:`` URI opened with ``mode=ro`` (a missing file is an error,
    never an empty new database)."""
    database = url.database or ""
    if database.startswith("file:"):
        return url.update_query_dict({"mode": "ro", "uri": "true"})
    path = Path(database).expanduser().resolve()
    return url.set(database=path.as_uri(), query={**url.query, "mode": "ro", "uri": "true"})


def _fold(value: object) -> str | None:
    return fold(value) if isinstance(value, str) else None
