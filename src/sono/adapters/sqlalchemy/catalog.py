"""``AudioCatalog``: the public audio list read outside units of work, one statement per page.

``GET /audio/public`` is the busiest list of the API and needs no transaction: it reads one
snapshot of committed rows. As ``SessionLookup`` does for authentication, it skips the ORM session
and its BEGIN/ROLLBACK round trips: on SQLite the statement runs synchronously on a read-only
stdlib ``sqlite3`` connection (in WAL mode a reader never waits for writers, and a page is read in
well under a millisecond, less than ``aiosqlite``'s thread hand-offs for the same statement); on
PostgreSQL it is one prepared statement on a small ``asyncpg`` pool of its own. The statement is
the repository's listing (files joined with their owners, newest first, a window count of the
whole list), compiled once per dialect. On SQLite, pages are kept until any commit changes the
database (``PRAGMA data_version``), so repeated reads of an unchanged list cost one trivial
statement. ``listen`` registers a callback that sees every statement (tests and benchmarks count
them).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any

from sqlalchemy import Boolean, bindparam, func, make_url, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm.instrumentation import manager_of_class

from sono.adapters.sqlalchemy.sessions import _Query, _timestamp
from sono.adapters.sqlalchemy.tables import UtcDateTime, audio_files, start_mappers, users
from sono.application.audio.ports import OwnedAudio
from sono.application.common import Page
from sono.domain.audio import AudioFile
from sono.domain.users import User

_OWNER = "sono_owner_"
_TOTAL = "sono_total"
_PUBLIC_PAGE = (
    select(
        *audio_files.c,
        *(column.label(f"{_OWNER}{column.name}") for column in users.c),
        func.count().over().label(_TOTAL),
    )
    .join(users, users.c.id == audio_files.c.owner_id)
    .where(audio_files.c.is_public, users.c.is_active)
    .order_by(audio_files.c.upload_date.desc(), audio_files.c.id.desc())
    .limit(bindparam("limit"))
    .offset(bindparam("skip"))
)
_PUBLIC_COUNT = (
    select(func.count())
    .select_from(audio_files.join(users, users.c.id == audio_files.c.owner_id))
    .where(audio_files.c.is_public, users.c.is_active)
)

Listener = Callable[[str], None]
_DATA_VERSION = "PRAGMA data_version"


class _Shape:
    """How a slice of a row's raw driver values (``start`` onwards, one per column of a table)
    becomes a detached domain object."""

    def __init__(self, cls: type, columns: Any, start: int) -> None:
        self.cls = cls
        self.names = [column.name for column in columns]
        self.start, self.end = start, start + len(self.names)
        self.booleans = [column.name for column in columns if isinstance(column.type, Boolean)]
        self.timestamps = [column.name for column in columns if isinstance(column.type, UtcDateTime)]

    def build(self, values: tuple[Any, ...]) -> Any:
        fields = dict(zip(self.names, values[self.start : self.end], strict=True))
        for name in self.booleans:
            fields[name] = bool(fields[name])
        for name in self.timestamps:
            if fields[name] is not None:
                fields[name] = _timestamp(fields[name])
        instance: Any = manager_of_class(self.cls).new_instance()  # no attribute events: see sessions._user
        instance.__dict__.update(fields)
        return instance


class _Catalog:
    def __init__(self, dialect: Dialect) -> None:
        start_mappers()
        self._page = _Query(_PUBLIC_PAGE, dialect)
        self._count = _Query(_PUBLIC_COUNT, dialect)
        self._audio = _Shape(AudioFile, audio_files.c, 0)
        self._owner = _Shape(User, users.c, len(audio_files.c))
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every statement run from now on; returns the way to stop."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _announce(self, query: _Query) -> None:
        for listener in list(self._listeners):
            listener(query.sql)

    def _page_of(self, rows: list[Any], skip: int, total: int | None) -> Page[OwnedAudio]:
        """The page from the listing's rows: the file's columns, its owner's, then the count."""
        values = [tuple(row) for row in rows]
        owners: dict[Any, User] = {}
        items = []
        for row in values:
            owner_id = row[self._owner.start]
            owner = owners.get(owner_id)
            if owner is None:  # each owner built once
                owner = owners[owner_id] = self._owner.build(row)
            items.append(OwnedAudio(self._audio.build(row), owner))
        return Page(items, values[0][-1] if values else total or 0, skip)


class SqliteAudioCatalog(_Catalog):
    """Pages are kept while the database is unchanged: ``PRAGMA data_version`` (one cheap
    statement) changes whenever any other connection, of this process or another, commits; then
    every kept page is dropped. A kept page is the same object each time (callers only read it)."""

    PAGES_KEPT = 64  # 0: keep none (every request reads its page)

    def __init__(self, database_path: str) -> None:
        super().__init__(sqlite.dialect(paramstyle="qmark"))
        self._path = database_path
        self._connection: sqlite3.Connection | None = None
        self._pages: dict[tuple[int, int], Page[OwnedAudio]] = {}
        self._version: int | None = None

    async def public_page(self, *, skip: int, limit: int) -> Page[OwnedAudio]:
        version = self._data_version()
        if version != self._version:
            self._pages.clear()
            self._version = version
        page = self._pages.get((skip, limit)) if self.PAGES_KEPT else None
        if page is None:
            rows = self._fetch(self._page, skip=skip, limit=limit)
            total = None if rows or not skip else self._fetch(self._count)[0][0]
            page = self._page_of(rows, skip, total)
            if len(self._pages) >= self.PAGES_KEPT:
                self._pages.clear()
            if self.PAGES_KEPT:
                self._pages[skip, limit] = page
        return page

    def _data_version(self) -> int:
        for listener in list(self._listeners):
            listener(_DATA_VERSION)
        version: int = self._connect().execute(_DATA_VERSION).fetchone()[0]
        return version

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _fetch(self, query: _Query, **values: Any) -> list[sqlite3.Row]:
        self._announce(query)
        cursor = self._connect().execute(query.sql, query.parameters(**values))
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA query_only=ON")
            connection.execute("PRAGMA busy_timeout=250")
            self._connection = connection
        return self._connection


class PostgresAudioCatalog(_Catalog):
    def __init__(self, dsn: str, *, max_size: int = 4) -> None:
        super().__init__(postgresql.asyncpg.dialect(paramstyle="numeric_dollar"))
        self._dsn = dsn
        self._max_size = max_size
        self._pool: Any = None
        self._lock = asyncio.Lock()

    async def public_page(self, *, skip: int, limit: int) -> Page[OwnedAudio]:
        rows = await self._fetch(self._page, skip=skip, limit=limit)
        total = None if rows or not skip else (await self._fetch(self._count))[0][0]
        return self._page_of(rows, skip, total)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _fetch(self, query: _Query, **values: Any) -> list[Any]:
        self._announce(query)
        pool = self._pool or await self._start()
        return list(await pool.fetch(query.sql, *query.parameters(**values)))

    async def _start(self) -> Any:
        import asyncpg

        async with self._lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn, min_size=1, max_size=self._max_size, server_settings={"application_name": "sono"}
                )
        return self._pool


def audio_catalog_for(url: str) -> SqliteAudioCatalog | PostgresAudioCatalog:
    """The catalog for a ``sqlite+aiosqlite://`` or ``postgresql+asyncpg://`` URL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return SqliteAudioCatalog(parsed.database or "")
    return PostgresAudioCatalog(parsed.set(drivername="postgresql").render_as_string(hide_password=False))
