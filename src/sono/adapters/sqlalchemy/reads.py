"""Reads on the hot paths, outside units of work: one compiled statement, one round trip.

Authenticating a request, finding a user to log in, the public audio list, the collection lists and
single collections need no transaction: each reads one snapshot of committed rows. They skip the
ORM session and its BEGIN/ROLLBACK round trips: a statement compiled once runs as it is
(``exec_driver_sql``) on a connection of a read engine of their own (``create_read_engine``: in
autocommit; on SQLite one read-only connection in a thread of its own, off the event loop; a small
pool on PostgreSQL), and ``Shape`` builds the domain objects from the raw values. Being
SQLAlchemy's, the engine's events see every statement, as they see the units of work's: tracing
(``sono.adapters.tracing.trace_engine``), the pool's metrics, ``listen``. Failures leave as the
unit of work's do (``sono.adapters.sqlalchemy.errors``): ``ServiceUnavailable`` when
the database cannot serve, never a driver message that could quote a value.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Boolean, Column, CompoundSelect, Enum, Select, event
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.util import find_tables

from sono.adapters.lru import Lru
from sono.adapters.sqlalchemy import errors
from sono.adapters.sqlalchemy.engine import create_read_engine
from sono.adapters.sqlalchemy.tables import UtcDateTime
from sono.adapters.sqlalchemy.versions import Watch
from sono.application.metrics import Metrics
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
        self.tables = frozenset(table.name for table in find_tables(statement))  # what it reads from
        self._order = tuple(compiled.positiontup or ())
        self._constants = compiled.params  # literals of the statement, e.g. those of CASE

    def parameters(self, **values: Any) -> list[Any]:
        merged = self._constants | values
        return [merged[name] for name in self._order]


class Shape:
    """How a slice of a row's values (``start`` onwards, one per column) becomes a detached domain
    object, set on an instance made by the mapper's class manager instead of ``__init__``, which
    would fire the ORM's attribute events for every field (ten times slower). The one way the
    adapter builds domain objects from rows: the reads' and the repositories' Core statements.

    With a ``dialect`` the values are the raw driver values of ``exec_driver_sql`` (the reads):
    booleans, enums and timestamps go through their column type's result processor for that
    dialect (as the ORM would give them; the drivers hand back the other types as they are).
    Without one they are a session's rows, already converted by their column types. The class
    manager is looked up at the first build (the mappers may start after the shape is made)."""

    CONVERTED = (Boolean, Enum, UtcDateTime)

    def __init__(
        self, cls: type, columns: Iterable[Column[Any]], start: int = 0, dialect: Dialect | None = None
    ) -> None:
        columns = list(columns)
        self.cls = cls
        self.names = [column.name for column in columns]
        self.start, self.end = start, start + len(self.names)
        self._processors: list[tuple[str, Callable[[Any], Any]]] = []
        if dialect is not None:
            converted = [column for column in columns if isinstance(column.type, self.CONVERTED)]
            processors = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in converted]
            self._processors = [
                (column.name, p) for column, p in zip(converted, processors, strict=True) if p is not None
            ]

    @functools.cached_property
    def _manager(self) -> Any:
        from sqlalchemy.orm.instrumentation import manager_of_class

        return manager_of_class(self.cls)

    def build(self, values: Sequence[Any]) -> Any:
        fields = dict(zip(self.names, values[self.start : self.end], strict=True))
        for name, process in self._processors:
            fields[name] = process(fields[name])
        instance: Any = self._manager.new_instance()
        instance.__dict__.update(fields)
        return instance


class Reads:
    """Single statements on a read engine (``create_read_engine``: autocommit, no reset on return).

    On SQLite the engine is synchronous (``pysqlite``) with one read-only connection, held by one
    thread of its own: a read is one hand-off to that thread, which runs the statement and fetches
    its rows (``aiosqlite`` would hand off four times: cursor, execute, fetch, close), in the
    caller's context (a trace's current span). On PostgreSQL it is the asyncpg engine, each read on
    a connection of its pool for that statement only, and ``checkout_timeout`` bounds a whole read,
    connection and statement (None: no bound beyond the statement's)."""

    def __init__(self, engine: AsyncEngine | Engine, *, checkout_timeout: float | None = None) -> None:
        self.engine = engine
        self.sync_engine: Engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
        self.dialect: Dialect = engine.dialect
        self._checkout_timeout = checkout_timeout
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sono-reads") if isinstance(engine, Engine) else None
        self._connection: Connection | None = None  # SQLite: the reads' thread's, only used there

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every statement run from now on; returns the way to stop."""

        def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            listener(statement)

        target = self.sync_engine
        event.listen(target, "before_cursor_execute", seen)
        return lambda: event.remove(target, "before_cursor_execute", seen)

    def query(self, statement: Select[Any] | CompoundSelect[Any]) -> Query:
        return Query(statement, self.dialect)

    async def fetch_all(self, query: Query, **values: Any) -> list[Any]:
        """The rows (tuples of raw driver values) of ``query``."""
        rows: list[Any] = await self._run(query.sql, tuple(query.parameters(**values)), all_rows=True)
        return rows

    async def fetch_one(self, query: Query, **values: Any) -> Any:
        """The first row of ``query``, or None."""
        return await self._run(query.sql, tuple(query.parameters(**values)), all_rows=False)

    async def close(self) -> None:
        engine, thread = self.engine, self._thread
        if isinstance(engine, AsyncEngine):
            await engine.dispose()
        elif thread is not None:
            await asyncio.get_running_loop().run_in_executor(thread, self._release)
            thread.shutdown(wait=False)

    def _execute(self, engine: Engine, sql: str, parameters: tuple[Any, ...], all_rows: bool) -> Any:
        """In the reads' thread: the statement on the connection that thread holds (taken from the
        pool at its first read, given back when it fails or the reads close)."""
        connection = self._connection
        if connection is None:
            connection = self._connection = engine.connect()
        try:
            result = connection.exec_driver_sql(sql, parameters)
            return result.fetchall() if all_rows else result.fetchone()
        except BaseException:
            self._connection = None
            connection.close()  # back to the pool, which replaces it if it was invalidated
            raise

    def _release(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self.sync_engine.dispose()

    async def _run(self, sql: str, parameters: tuple[Any, ...], *, all_rows: bool) -> Any:
        engine, thread = self.engine, self._thread
        if thread is not None:
            assert isinstance(engine, Engine)
            run = contextvars.copy_context().run
            try:
                return await asyncio.get_running_loop().run_in_executor(
                    thread, run, self._execute, engine, sql, parameters, all_rows
                )
            except Exception as exc:  # "database is locked" is a 503; nothing quotes a value
                raise errors.translate(exc)  # noqa: B904 - translate() chains what is safe to log
        assert isinstance(engine, AsyncEngine)
        deadline = asyncio.timeout(self._checkout_timeout)  # None: no bound beyond the statement's
        try:
            async with deadline, engine.connect() as connection:
                result = await connection.exec_driver_sql(sql, parameters)
                return result.fetchall() if all_rows else result.fetchone()
        except Exception as exc:
            if deadline.expired():
                raise _timed_out(self._checkout_timeout) from None
            raise errors.translate(exc)  # noqa: B904 - translate() chains what is safe to log


class Kept(Generic[V]):
    """Values read through ``reads``, kept while the tables they were read from are unchanged
    (``watch``, on the tables' versions: ``sono.adapters.sqlalchemy.versions``). A lookup takes a
    stamp of those versions first, a value is kept under the stamp taken before it was read, and a
    lookup that finds the stamp moved drops every kept value: a commit that lands while a value is
    read moves the versions after it, so that value is dropped at the next lookup. Nothing is kept
    while the versions cannot be trusted (no stamp: PostgreSQL not listening). A kept value is the
    same object each time, also for lookups that missed together (callers only read it). Lookups
    count as hits and misses, and the number kept is reported, under ``name`` (``sono_cache_*``)."""

    def __init__(self, watch: Watch, name: str, *, metrics: Metrics | None = None) -> None:
        self._watch = watch
        self.name = name
        self._values: Lru[Hashable, V] = Lru(name, metrics=metrics)  # the most recently used
        self._stamp: Hashable | None = None

    @property
    def hits(self) -> int:
        return self._values.hits

    @property
    def misses(self) -> int:
        return self._values.misses

    def __len__(self) -> int:
        return len(self._values)

    async def get(self, key: Hashable, load: Callable[[], Awaitable[V]], *, most: int) -> V:
        """The value kept under ``key``, else ``load()`` kept there (at most ``most`` values, the
        most recently used; 0: keep none)."""
        stamp = self._watch.stamp()
        if stamp is None or most <= 0:
            return await load()
        values = self._values
        if stamp != self._stamp:
            values.clear()
            self._stamp = stamp
        value = values.get(key)
        if value is not None:
            return value
        value = await load()
        if self._stamp == stamp:  # no other lookup saw the versions move meanwhile
            first = values.peek(key)
            if first is not None:  # a lookup that missed alongside this one kept its value first
                return first  # one object for every caller: the answers made from it are kept by it
            values.max_entries = most
            values.put(key, value)
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
    """The reads for a ``sqlite+aiosqlite://`` or ``postgresql+asyncpg://`` URL, on an engine of
    their own (``create_read_engine``) with the same timeouts as ``create_engine``."""
    engine = create_read_engine(url, connect_timeout=connect_timeout, statement_timeout=statement_timeout)
    return Reads(engine, checkout_timeout=checkout_timeout)
