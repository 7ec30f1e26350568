"""``SessionLookup``: each read is one indexed query without the ORM, as they run on every
authenticated request and every login.

On SQLite the queries run synchronously on a read-only stdlib ``sqlite3`` connection: in WAL mode a
reader never waits for writers, and an indexed lookup takes microseconds, far less than the thread
hand-offs ``aiosqlite`` needs for each step of a statement. On PostgreSQL each is one prepared
statement on a small ``asyncpg`` pool of its own (no ORM session, no BEGIN/ROLLBACK, no pre-ping).
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, Select, and_, bindparam, case, func, make_url, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.instrumentation import manager_of_class

from sono.adapters.sqlalchemy import errors
from sono.adapters.sqlalchemy.engine import CLIENT_TIMEOUT_MARGIN
from sono.adapters.sqlalchemy.tables import UtcDateTime, refresh_families, start_mappers, users
from sono.domain.users import User, normalize_email, normalize_username

_FAMILY, _REVOKED_AT, _EXPIRES_AT = "sono_family", "sono_family_revoked_at", "sono_family_expires_at"
_PRINCIPAL = (
    select(
        users,
        refresh_families.c.id.label(_FAMILY),
        refresh_families.c.revoked_at.label(_REVOKED_AT),
        refresh_families.c.expires_at.label(_EXPIRES_AT),
    )
    .select_from(
        users.outerjoin(
            refresh_families,
            and_(refresh_families.c.id == bindparam("family_id"), refresh_families.c.user_id == users.c.id),
        )
    )
    .where(users.c.id == bindparam("user_id"))
)
_BY_USERNAME = func.lower(users.c.username) == bindparam("login")
_BY_LOGIN = (
    select(users)
    .where(or_(_BY_USERNAME, func.lower(users.c.email) == bindparam("email")))
    .order_by(case((_BY_USERNAME, 0), else_=1))
    .limit(1)
)
_COLUMNS = tuple(c.name for c in users.c)
_BOOLEANS = frozenset(c.name for c in users.c if isinstance(c.type, Boolean))
_TIMESTAMPS = frozenset(c.name for c in users.c if isinstance(c.type, UtcDateTime))


class _Query:
    """A statement compiled once for one dialect, and the order of its positional parameters."""

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self._order = tuple(compiled.positiontup or ())
        self._constants = compiled.params  # literals of the statement, e.g. those of CASE

    def parameters(self, **values: Any) -> list[Any]:
        merged = self._constants | values
        return [merged[name] for name in self._order]


class _Queries:
    def __init__(self, dialect: Dialect) -> None:
        start_mappers()
        configure_mappers()  # ``_user`` builds instances through the mapper before any session does
        self.principal = _Query(_PRINCIPAL, dialect)
        self.by_login = _Query(_BY_LOGIN, dialect)


def _timestamp(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _user(row: Any) -> User | None:
    """A detached ``User`` from a row (a mapping by column name). Built through the mapper's class
    manager instead of ``__init__``, which would fire the ORM's attribute events for every field
    (ten times slower)."""
    if row is None:
        return None
    fields = {name: row[name] for name in _COLUMNS}
    for name in _BOOLEANS:
        fields[name] = bool(fields[name])
    for name in _TIMESTAMPS:
        fields[name] = _timestamp(fields[name])
    user: User = manager_of_class(User).new_instance()
    user.__dict__.update(fields)
    return user


def _principal(row: Any, now: datetime) -> tuple[User | None, bool]:
    """The user, and whether the session is live: the family exists, is not revoked, not expired."""
    if row is None:
        return None, False
    expires_at = _timestamp(row[_EXPIRES_AT])
    live = row[_FAMILY] is not None and row[_REVOKED_AT] is None and expires_at is not None and now < expires_at
    return _user(row), live


class SqliteSessionLookup:
    def __init__(self, database_path: str) -> None:
        self._path = database_path
        self._queries = _Queries(sqlite.dialect(paramstyle="qmark"))
        self._connection: sqlite3.Connection | None = None

    async def principal(self, user_id: int, family_id: str, now: datetime) -> tuple[User | None, bool]:
        return _principal(self._fetch_one(self._queries.principal, user_id=user_id, family_id=family_id), now)

    async def user_by_login(self, login: str) -> User | None:
        return _user(
            self._fetch_one(self._queries.by_login, login=normalize_username(login), email=normalize_email(login))
        )

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _fetch_one(self, query: _Query, **values: Any) -> sqlite3.Row | None:
        try:
            cursor = self._connect().execute(query.sql, query.parameters(**values))
            try:
                row: sqlite3.Row | None = cursor.fetchone()
            finally:
                cursor.close()
        except sqlite3.Error as exc:  # "database is locked" is a 503; nothing quotes a value
            raise errors.translate(exc)  # noqa: B904 - translate() chains what is safe to log
        return row

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA query_only=ON")
            connection.execute("PRAGMA busy_timeout=250")
            self._connection = connection
        return self._connection


class PostgresSessionLookup:
    """Failures leave as ``ServiceUnavailable`` when the database cannot serve (refused, timed
    out, connection lost; the pool reconnects by itself afterwards), else scrubbed of any value
    the driver quoted (see ``sono.adapters.sqlalchemy.errors``)."""

    def __init__(
        self,
        dsn: str,
        *,
        max_size: int = 4,
        connect_timeout: float = 5.0,
        statement_timeout: float | None = None,
    ) -> None:
        self._dsn = dsn
        self._max_size = max_size
        self._connect_timeout = connect_timeout
        self._statement_timeout = statement_timeout
        self._queries = _Queries(postgresql.asyncpg.dialect(paramstyle="numeric_dollar"))
        self._pool: Any = None
        self._lock = asyncio.Lock()

    async def principal(self, user_id: int, family_id: str, now: datetime) -> tuple[User | None, bool]:
        row = await self._fetch_one(self._queries.principal, user_id=user_id, family_id=family_id)
        return _principal(row, now)

    async def user_by_login(self, login: str) -> User | None:
        return _user(
            await self._fetch_one(self._queries.by_login, login=normalize_username(login), email=normalize_email(login))
        )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _fetch_one(self, query: _Query, **values: Any) -> Any:
        try:
            pool = self._pool or await self._start()
            return await pool.fetchrow(query.sql, *query.parameters(**values))
        except Exception as exc:
            raise errors.translate(exc)  # noqa: B904 - translate() chains what is safe to log

    async def _start(self) -> Any:
        import asyncpg

        server_settings = {"application_name": "sono"}
        command_timeout = None
        if self._statement_timeout is not None:
            server_settings["statement_timeout"] = str(max(1, round(self._statement_timeout * 1000)))
            command_timeout = self._statement_timeout + CLIENT_TIMEOUT_MARGIN
        async with self._lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=1,
                    max_size=self._max_size,
                    timeout=self._connect_timeout,
                    command_timeout=command_timeout,
                    server_settings=server_settings,
                )
        return self._pool


def session_lookup_for(
    url: str, *, connect_timeout: float = 5.0, statement_timeout: float | None = None
) -> SqliteSessionLookup | PostgresSessionLookup:
    """The lookup for a ``sqlite+aiosqlite://`` or ``postgresql+asyncpg://`` URL, with the same
    timeouts as ``create_engine`` (they apply to PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return SqliteSessionLookup(parsed.database or "")
    return PostgresSessionLookup(
        parsed.set(drivername="postgresql").render_as_string(hide_password=False),
        connect_timeout=connect_timeout,
        statement_timeout=statement_timeout,
    )
