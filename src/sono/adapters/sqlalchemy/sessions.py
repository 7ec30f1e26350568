"""``SessionLookup`` in one indexed query, without the ORM: it runs on every authenticated request.

On SQLite the query runs synchronously on a read-only stdlib ``sqlite3`` connection: in WAL mode a
reader never waits for writers, and a primary-key lookup takes microseconds, far less than the
thread hand-offs ``aiosqlite`` would need. On PostgreSQL it is one prepared statement on a small
``asyncpg`` pool of its own (no ORM session, no BEGIN/ROLLBACK, no pre-ping).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, bindparam, exists, make_url, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm.instrumentation import manager_of_class

from sono.adapters.sqlalchemy.tables import UtcDateTime, revoked_tokens, start_mappers, users
from sono.domain.users import User

_REVOKED = "revoked"
_STATEMENT = select(users, exists().where(revoked_tokens.c.jti == bindparam("jti")).label(_REVOKED)).where(
    users.c.id == bindparam("user_id")
)
_COLUMNS = tuple(c.name for c in users.c)
_BOOLEANS = frozenset(c.name for c in users.c if isinstance(c.type, Boolean))
_TIMESTAMPS = frozenset(c.name for c in users.c if isinstance(c.type, UtcDateTime))


def _compile(dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    compiled = _STATEMENT.compile(dialect=dialect)
    return str(compiled), tuple(compiled.positiontup or ())


def _timestamp(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _user_from(row: Mapping[str, Any]) -> User:
    """A detached ``User``. Built through the mapper's class manager instead of ``__init__``,
    which would fire the ORM's attribute events for every field (ten times slower)."""
    fields = {name: row[name] for name in _COLUMNS}
    for name in _BOOLEANS:
        fields[name] = bool(fields[name])
    for name in _TIMESTAMPS:
        fields[name] = _timestamp(fields[name])
    user: User = manager_of_class(User).new_instance()
    user.__dict__.update(fields)
    return user


def _answer(row: Mapping[str, Any] | None) -> tuple[User | None, bool]:
    if row is None:
        return None, False
    return _user_from(row), bool(row[_REVOKED])


class SqliteSessionLookup:
    def __init__(self, database_path: str) -> None:
        start_mappers()
        self._path = database_path
        self._sql, self._order = _compile(sqlite.dialect(paramstyle="qmark"))
        self._connection: sqlite3.Connection | None = None

    async def principal(self, user_id: int, jti: str) -> tuple[User | None, bool]:
        cursor = self._connect().execute(self._sql, _positional({"user_id": user_id, "jti": jti}, self._order))
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        return _answer(row)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA query_only=ON")
            connection.execute("PRAGMA busy_timeout=250")
            self._connection = connection
        return self._connection


class PostgresSessionLookup:
    def __init__(self, dsn: str, *, max_size: int = 4) -> None:
        start_mappers()
        self._dsn = dsn
        self._max_size = max_size
        self._sql, self._order = _compile(postgresql.asyncpg.dialect(paramstyle="numeric_dollar"))
        self._pool: Any = None
        self._lock = asyncio.Lock()

    async def principal(self, user_id: int, jti: str) -> tuple[User | None, bool]:
        pool = self._pool or await self._start()
        row = await pool.fetchrow(self._sql, *_positional({"user_id": user_id, "jti": jti}, self._order))
        return _answer(row)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _start(self) -> Any:
        import asyncpg

        async with self._lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn, min_size=1, max_size=self._max_size, server_settings={"application_name": "sono"}
                )
        return self._pool


def session_lookup_for(url: str) -> SqliteSessionLookup | PostgresSessionLookup:
    """The lookup for a ``sqlite+aiosqlite://`` or ``postgresql+asyncpg://`` URL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return SqliteSessionLookup(parsed.database or "")
    return PostgresSessionLookup(parsed.set(drivername="postgresql").render_as_string(hide_password=False))


def _positional(values: Mapping[str, Any], order: Sequence[str]) -> list[Any]:
    return [values[name] for name in order]
