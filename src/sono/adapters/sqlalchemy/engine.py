"""Async engines for PostgreSQL (asyncpg) and SQLite (aiosqlite)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import event, make_url, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine, ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, PoolProxiedConnection, QueuePool

from sono.application.metrics import Metrics

_BEGIN_OPTION = "sono_sqlite_begin"
_SQLITE_PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA synchronous=NORMAL",
)


def create_engine(
    url: str,
    *,
    connect_timeout: float = 5.0,
    statement_timeout: float | None = None,
    checkout_timeout: float | None = None,
) -> AsyncEngine:
    """An engine for ``postgresql+asyncpg://`` or ``sqlite+aiosqlite://`` URLs.

    ``checkout_timeout`` bounds the wait for a free connection of the pool (default: the larger
    of the two other timeouts).

    ``connect_timeout`` bounds opening a PostgreSQL connection (a database that hangs), and
    ``statement_timeout`` (None: no limit, e.g. for migrations) one statement: PostgreSQL cancels
    it, and the client gives up a little later on a server that stopped answering. Bound values
    never appear in SQLAlchemy's error messages (``hide_parameters``)."""
    _quiet_value_logging()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed)
    else:
        engine = create_async_engine(
            parsed,
            poolclass=MeteredPool,
            pool_size=10,
            max_overflow=10,
            pool_pre_ping=True,
            pool_recycle=1800,
            pool_timeout=checkout_timeout or max(connect_timeout, statement_timeout or 0.0),
            hide_parameters=True,
            connect_args=_postgres_connect_args(connect_timeout, statement_timeout),
        )
    event.listen(engine.sync_engine, "handle_error", _on_error)
    return engine


def create_read_engine(
    url: str,
    *,
    connect_timeout: float = 5.0,
    statement_timeout: float | None = None,
    pool_size: int = 4,
) -> AsyncEngine | Engine:
    """An engine for single reads outside transactions (``sono.adapters.sqlalchemy.reads``): in
    autocommit, so a statement is one round trip, with no ``BEGIN`` before it, no ``ROLLBACK``
    when its connection goes back to the pool, and no liveness ping when it comes out of it (a
    PostgreSQL connection the driver knows closed is replaced before use, one that died unnoticed
    fails its read with a 503 and the pool starts afresh). The same timeouts as ``create_engine``.

    On SQLite, a synchronous engine (the stdlib driver, for the reads' own thread) with one
    read-only connection (``PRAGMA query_only``, waiting at most 250 ms for a lock: in WAL mode
    readers never wait for writers)."""
    _quiet_value_logging()
    parsed = make_url(url)
    options: dict[str, Any] = {
        "isolation_level": "AUTOCOMMIT",
        "skip_autocommit_rollback": True,  # closing the connection's (implicit) transaction
        "pool_reset_on_return": None,  # nothing to reset: single statements in autocommit
        "hide_parameters": True,
    }
    engine: AsyncEngine | Engine
    if parsed.get_backend_name() == "sqlite":
        engine = sa_create_engine(
            parsed.set(drivername="sqlite"),
            poolclass=QueuePool,
            pool_size=1,
            max_overflow=0,
            connect_args={"check_same_thread": False},  # used by the reads' thread, closed by any
            **options,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("PRAGMA query_only=ON")
                cursor.execute("PRAGMA busy_timeout=250")
            finally:
                cursor.close()

        event.listen(engine, "handle_error", _on_error)
        return engine
    engine = create_async_engine(
        parsed,
        poolclass=MeteredPool,
        pool_size=pool_size,
        max_overflow=0,
        pool_recycle=1800,
        pool_timeout=max(connect_timeout, statement_timeout or 0.0),
        connect_args=_postgres_connect_args(connect_timeout, statement_timeout),
        **options,
    )
    event.listen(engine.sync_engine, "checkout", _discard_closed)
    event.listen(engine.sync_engine, "handle_error", _on_error)
    return engine


def _postgres_connect_args(connect_timeout: float, statement_timeout: float | None) -> dict[str, Any]:
    server_settings = {"application_name": "sono"}
    connect_args: dict[str, Any] = {"timeout": connect_timeout, "server_settings": server_settings}
    if statement_timeout is not None:
        server_settings["statement_timeout"] = str(max(1, round(statement_timeout * 1000)))
        connect_args["command_timeout"] = statement_timeout + client_margin(statement_timeout)
    return connect_args


def _discard_closed(_dbapi_connection: Any, _record: Any, proxy: PoolProxiedConnection) -> None:
    """A pooled asyncpg connection the driver saw closed (the server went away): the pool makes a
    new one instead (a check in memory, no round trip)."""
    driver = proxy.driver_connection
    if driver is not None and driver.is_closed():
        raise sa_exc.DisconnectionError("connection closed")


_VALUE_LOGGERS = {
    "aiosqlite": logging.INFO,  # logs every call with its arguments (statements and values) at DEBUG
    "sqlalchemy.engine": logging.WARNING,  # statements at INFO, result rows at DEBUG
    "sqlalchemy.pool": logging.WARNING,
}


def _quiet_value_logging() -> None:
    """Keep the loggers that would write bound values or rows (password hashes, emails) below
    debug level, unless a logging configuration chose a level for them explicitly."""
    for name, level in _VALUE_LOGGERS.items():
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(level)


CLIENT_TIMEOUT_MARGIN = 2.0
"""Seconds the client waits beyond the server's statement timeout before it gives up (at most)."""


def client_margin(statement_timeout: float) -> float:
    """How long the client waits beyond the server's statement timeout: ``CLIENT_TIMEOUT_MARGIN``,
    or a quarter of a short statement timeout (a web request's bound stays close to what it says)."""
    return min(CLIENT_TIMEOUT_MARGIN, statement_timeout / 4)


def _on_error(context: ExceptionContext) -> None:
    """A statement that failed because the server stopped answering leaves its connection in an
    unknown state: never hand it out again (the pool makes a new one)."""
    if not context.is_pre_ping and isinstance(context.original_exception, OSError | TimeoutError):
        context.is_disconnect = True


class MeteredPool(AsyncAdaptedQueuePool):
    """The asyncio queue pool, reporting to ``metrics`` (once ``meter_pool`` set it) the callers
    waiting for a connection and those that gave up."""

    metrics: Metrics | None = None
    metrics_name = "main"

    def connect(self) -> PoolProxiedConnection:
        metrics = self.metrics
        if metrics is None:
            return super().connect()
        metrics.pool_waiting(self.metrics_name, 1)
        try:
            return super().connect()
        except sa_exc.TimeoutError:
            metrics.pool_timeout(self.metrics_name)
            raise
        finally:
            metrics.pool_waiting(self.metrics_name, -1)

    def recreate(self) -> MeteredPool:
        pool = super().recreate()
        assert isinstance(pool, MeteredPool)  # made by ``self.__class__``
        pool.metrics, pool.metrics_name = self.metrics, self.metrics_name
        return pool


def meter_pool(engine: AsyncEngine | Engine, metrics: Metrics, name: str = "main") -> None:
    """Report ``engine``'s pool to ``metrics``: connections in use and in overflow (any pool),
    callers waiting and checkout timeouts (the PostgreSQL pool, a ``MeteredPool``)."""
    if not metrics.enabled:
        return
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    pool = sync_engine.pool
    if isinstance(pool, MeteredPool):
        pool.metrics, pool.metrics_name = metrics, name

    def overflow() -> int:
        current = sync_engine.pool
        return current.overflow() if isinstance(current, QueuePool) else 0

    @event.listens_for(sync_engine, "checkout")
    def _checked_out(*_: Any) -> None:
        metrics.pool_checkout(name, 1, overflow())

    @event.listens_for(sync_engine, "checkin")
    def _checked_in(*_: Any) -> None:
        metrics.pool_checkout(name, -1, overflow())


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
    engine = create_async_engine(url, hide_parameters=True)

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
