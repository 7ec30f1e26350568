"""Reads on the hot paths, outside units of work: one compiled statement, one round trip.

Authenticating a request, finding a user to log in, and the public audio list need no transaction:
each reads one snapshot of committed rows. They skip the ORM session and its BEGIN/ROLLBACK round
trips. On SQLite a statement runs synchronously on a read-only stdlib ``sqlite3`` connection (in WAL
mode a reader never waits for writers, and an indexed read takes microseconds, less than the
thread hand-offs ``aiosqlite`` needs); on PostgreSQL it is a prepared statement on a small
``asyncpg`` pool with the same connect and statement timeouts as the engine. Failures leave as the
unit of work's do (``sono.adapters.sqlalchemy.errors``): ``ServiceUnavailable`` when the database
cannot serve, never a driver message that could quote a value.

``listen`` registers a callback that sees every statement (tests and benchmarks count them).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Hashable, Iterable
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Boolean, Column, CompoundSelect, Enum, Select, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from sono.adapters.sqlalchemy import errors
from sono.adapters.sqlalchemy.engine import client_margin
from sono.adapters.sqlalchemy.tables import UtcDateTime
from sono.domain.errors import ServiceUnavailable

Listener = Callable[[str], None]
V = TypeVar("V")


def timestamp(value: Any) -> datetime | None:
    """A timestamp column's raw driver value (SQLite: text) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Query:
    """A statement compiled once for one dialect, and the order of its positional parameters."""

    def __init__(self, statement: Select[Any] | CompoundSelect[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self._order = tuple(compiled.positiontup or ())
        self._constants = compiled.params  # literals of the statement, e.g. those of CASE

    def parameters(self, **values: Any) -> list[Any]:
        merged = self._constants | values
        return [merged[name] for name in self._order]


class Shape:
    """How a slice of a row's raw driver values (``start`` onwards, one per column) becomes a
    detached domain object: booleans, enums and timestamps through their column type's result
    processor for the dialect (as the ORM would give them; the drivers hand back the other types
    as they are), set on an instance made by the mapper's class manager instead of ``__init__``,
    which would fire the ORM's attribute events for every field (ten times slower)."""

    CONVERTED = (Boolean, Enum, UtcDateTime)

    def __init__(self, cls: type, columns: Iterable[Column[Any]], start: int, dialect: Dialect) -> None:
        from sqlalchemy.orm.instrumentation import manager_of_class

        columns = list(columns)
        self.names = [column.name for column in columns]
        self.start, self.end = start, start + len(self.names)
        self._manager: Any = manager_of_class(cls)
        converted = [column for column in columns if isinstance(column.type, self.CONVERTED)]
        processors = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in converted]
        self._processors = [(column.name, p) for column, p in zip(converted, processors, strict=True) if p is not None]

    def build(self, values: tuple[Any, ...]) -> Any:
        fields = dict(zip(self.names, values[self.start : self.end], strict=True))
        for name, process in self._processors:
            fields[name] = process(fields[name])
        instance: Any = self._manager.new_instance()
        instance.__dict__.update(fields)
        return instance


class _Reads:
    dialect: Dialect

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every statement run from now on; returns the way to stop."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def query(self, statement: Select[Any] | CompoundSelect[Any]) -> Query:
        return Query(statement, self.dialect)

    def _announce(self, sql: str) -> None:
        for listener in list(self._listeners):
            listener(sql)


class SqliteReads(_Reads):
    """A read-only connection to the SQLite file, opened on first use."""

    dialect = sqlite.dialect(paramstyle="qmark")
    DATA_VERSION = "PRAGMA data_version"

    def __init__(self, database_path: str) -> None:
        super().__init__()
        self._path = database_path
        self._connection: sqlite3.Connection | None = None

    async def fetch_all(self, query: Query, **values: Any) -> list[Any]:
        return self._run(query.sql, query.parameters(**values), all_rows=True)

    async def fetch_one(self, query: Query, **values: Any) -> Any:
        return self._run(query.sql, query.parameters(**values), all_rows=False)

    def data_version(self) -> int:
        """A number that changes whenever another connection (of any process) commits."""
        version: int = self._run(self.DATA_VERSION, [], all_rows=False)[0]
        return version

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _run(self, sql: str, parameters: list[Any], *, all_rows: bool) -> Any:
        self._announce(sql)
        try:
            cursor = self._connect().execute(sql, parameters)
            try:
                return cursor.fetchall() if all_rows else cursor.fetchone()
            finally:
                cursor.close()
        except sqlite3.Error as exc:  # "database is locked" is a 503; nothing quotes a value
            raise errors.translate(exc)  # noqa: B904 - translate() chains what is safe to log

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA query_only=ON")
            connection.execute("PRAGMA busy_timeout=250")
            self._connection = connection
        return self._connection


class PostgresReads(_Reads):
    """A small pool of its own (the pool reconnects by itself after an outage)."""

    dialect = postgresql.asyncpg.dialect(paramstyle="numeric_dollar")

    def __init__(
        self,
        dsn: str,
        *,
        max_size: int = 4,
        connect_timeout: float = 5.0,
        statement_timeout: float | None = None,
        checkout_timeout: float | None = None,
    ) -> None:
        super().__init__()
        self._dsn = dsn
        self._max_size = max_size
        self._connect_timeout = connect_timeout
        self._statement_timeout = statement_timeout
        self._checkout_timeout = checkout_timeout  # the bound of a whole read: connection and statement
        self._pool: Any = None
        self._lock = asyncio.Lock()

    async def fetch_all(self, query: Query, **values: Any) -> list[Any]:
        self._announce(query.sql)
        deadline = asyncio.timeout(self._checkout_timeout)  # None: no bound beyond the statement's
        try:
            async with deadline:
                pool = self._pool or await self._start()
                return await _on_connection(pool, "fetch", query.sql, query.parameters(**values))
        except Exception as exc:
            if deadline.expired():
                raise _timed_out(self._checkout_timeout) from None
            raise errors.translate(exc)  # noqa: B904 - translate() chains what is safe to log

    async def fetch_one(self, query: Query, **values: Any) -> Any:
        self._announce(query.sql)
        deadline = asyncio.timeout(self._checkout_timeout)  # None: no bound beyond the statement's
        try:
            async with deadline:
                pool = self._pool or await self._start()
                return await _on_connection(pool, "fetchrow", query.sql, query.parameters(**values))
        except Exception as exc:
            if deadline.expired():
                raise _timed_out(self._checkout_timeout) from None
            raise errors.translate(exc)  # noqa: B904 - translate() chains what is safe to log

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _start(self) -> Any:
        import asyncpg

        server_settings = {"application_name": "sono"}
        command_timeout = None
        if self._statement_timeout is not None:
            server_settings["statement_timeout"] = str(max(1, round(self._statement_timeout * 1000)))
            command_timeout = self._statement_timeout + client_margin(self._statement_timeout)
        async with self._lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=1,
                    max_size=self._max_size,
                    timeout=self._connect_timeout,
                    command_timeout=command_timeout,
                    server_settings=server_settings,
                    reset=_keep_session,
                )
        return self._pool


async def _on_connection(pool: Any, method: str, sql: str, parameters: list[Any]) -> Any:
    """``connection.<method>(sql, *parameters)`` on a connection of ``pool``. A read cut short (its
    deadline, a timeout, a lost connection) closes its connection at once: released as it is, it
    would first wait for the server to confirm the cancellation, and a hung server never does."""
    connection = await pool.acquire()
    try:
        result = await getattr(connection, method)(sql, *parameters)
        return list(result) if method == "fetch" else result
    except (asyncio.CancelledError, TimeoutError, OSError):
        connection.terminate()
        raise
    finally:
        await pool.release(connection)


async def _keep_session(connection: Any) -> None:
    """The pool's reset on release, which would otherwise send ``RESET ALL`` and friends: one more
    round trip per read. Reads leave nothing to reset: single statements outside transactions (a
    transaction left open is still rolled back by the pool), no cursors, locks, listeners or session
    settings beyond the connection's own."""


Reads = SqliteReads | PostgresReads


class Kept(Generic[V]):
    """Values read through ``reads``, kept on SQLite while the database is unchanged: ``PRAGMA
    data_version`` (one cheap statement) changes whenever any other connection, of this process or
    another, commits; then every kept value is dropped. A value read while a commit lands is kept
    under the number seen before it, so the next read drops it. Nothing is kept on PostgreSQL. A
    kept value is the same object each time (callers only read it)."""

    def __init__(self, reads: Reads) -> None:
        self._reads = reads
        self._values: dict[Hashable, V] = {}
        self._version: int | None = None

    async def get(self, key: Hashable, load: Callable[[], Awaitable[V]], *, most: int) -> V:
        """The value kept under ``key``, else ``load()`` kept there (at most ``most`` values; 0:
        keep none)."""
        reads = self._reads
        if not isinstance(reads, SqliteReads) or most <= 0:
            return await load()
        version = reads.data_version()
        if version != self._version:
            self._values.clear()
            self._version = version
        value = self._values.get(key)
        if value is None:
            value = await load()
            if self._version == version:  # no other read dropped the kept values meanwhile
                if len(self._values) >= most:
                    self._values.clear()
                self._values[key] = value
        return value


def _timed_out(seconds: float | None) -> ServiceUnavailable:
    errors.log.warning("database unavailable: no answer within %s s", seconds)
    return ServiceUnavailable(errors.DATABASE_UNAVAILABLE)


def reads_for(
    url: str,
    *,
    connect_timeout: float = 5.0,
    statement_timeout: float | None = None,
    checkout_timeout: float | None = None,
) -> Reads:
    """The reads for a ``sqlite+aiosqlite://`` or ``postgresql+asyncpg://`` URL, with the same
    timeouts as ``create_engine`` (they apply to PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return SqliteReads(parsed.database or "")
    return PostgresReads(
        parsed.set(drivername="postgresql").render_as_string(hide_password=False),
        connect_timeout=connect_timeout,
        statement_timeout=statement_timeout,
        checkout_timeout=checkout_timeout,
    )
