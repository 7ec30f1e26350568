"""Table versions: whether a table that a kept read depends on was written since it was read.

Every unit of work that commits names the tables it wrote (``track_writes`` gathers them from the
``INSERT``, ``UPDATE`` and ``DELETE`` statements its connection runs, ``Cascades`` adds those
the foreign keys' ``ON DELETE`` actions write), and the versions of those tables move on once the
commit is done, in this process and in every other process of the same
database:

- **SQLite** (one machine): the versions are counters in a small file beside the database
  (``<database>-versions``), mapped into the memory of every process that opens the database
  (``FileVersions``). Reading them is a memory read; moving them takes the file's lock.
- **PostgreSQL**: counters in each process (``ListenedVersions``), moved by the process's own
  commits at once and by the other processes' through ``LISTEN``/``NOTIFY``: a unit of work
  announces its tables inside its transaction (``pg_notify``: delivered with the commit, never
  without it; the notice names the process, which skips its own) and each process listens on one
  connection of its own. Until that connection
  listens, and whenever it is lost, nothing is trusted (no stamp: every read goes to the database);
  when it listens again every version moves on.

The kept reads (``sono.adapters.sqlalchemy.reads.Kept``) take a stamp of their tables' versions
before they read and keep the value under that stamp: a commit that lands while they read moves
the versions after it, so the next lookup drops the value. In another process a commit is seen when
its notice arrives: at once on SQLite, within the time a notification takes on PostgreSQL (about a
millisecond on a local network). Writes that do not go through Sono's units of work (a ``psql``
session) are not announced: restart the servers after such a change. Migrations and restored
backups announce that every table changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import mmap
import os
import re
import secrets
import struct
import zlib
from collections.abc import Callable, Hashable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import MetaData, event, make_url, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

WRITTEN = "sono_written_tables"
"""The key, in a connection's ``info``, of the tables its open transaction wrote."""
EVERY_TABLE = "*"
"""Written by a statement whose table is not known: every version moves on."""
CHANNEL = "sono_table_versions"
APPLICATION_NAME = "sono-listen"  # the listening connection, as pg_stat_activity names it

_WRITE = re.compile(r'\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.IGNORECASE)
_MAY_WRITE = re.compile(r"\b(?:INSERT|UPDATE|DELETE|TRUNCATE|ALTER|DROP)\b", re.IGNORECASE)
_READ_ONLY_START = re.compile(r"\s*(?:SELECT|PRAGMA|SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT|SET|SHOW)\b", re.IGNORECASE)


def written_by(statement: str) -> str | None:
    """The table a statement writes: its name, ``EVERY_TABLE`` when it may write some table not
    named in the usual place (a ``WITH ... UPDATE``, DDL), None when it only reads."""
    match = _WRITE.match(statement)
    if match is not None:
        return match.group(1).lower()
    if _READ_ONLY_START.match(statement) is not None:
        return None  # SELECT ... FOR UPDATE, pragmas, savepoints
    return EVERY_TABLE if _MAY_WRITE.search(statement) else None


def track_writes(engine: AsyncEngine) -> None:
    """Gather in each connection's ``info`` the tables its transaction writes (the unit of work
    takes them when it commits); a rollback forgets them. Once per engine."""
    target = engine.sync_engine
    if not event.contains(target, "before_cursor_execute", _seen):
        event.listen(target, "before_cursor_execute", _seen)
        event.listen(target, "rollback", _rolled_back)


def _seen(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
    table = written_by(statement)
    if table is not None:
        conn.info.setdefault(WRITTEN, set()).add(table)


def _rolled_back(conn: Any) -> None:
    conn.info.pop(WRITTEN, None)


class Cascades:
    """What the database itself writes along with the tables a statement names: the tables whose
    foreign keys into them delete or change rows with theirs (``ON DELETE CASCADE``, ``SET NULL``,
    ``SET DEFAULT``), and so on down (read once from the tables' metadata)."""

    def __init__(self, metadata: MetaData) -> None:
        self._children: dict[str, set[str]] = {}
        for table in metadata.tables.values():
            for key in table.foreign_keys:
                if (key.ondelete or "").upper() in _CASCADING or (key.onupdate or "").upper() in _CASCADING:
                    self._children.setdefault(key.column.table.name, set()).add(table.name)

    def __call__(self, written: Iterable[str]) -> frozenset[str]:
        """``written`` and every table written with them (``EVERY_TABLE`` stays as it is)."""
        found, todo = set(written), list(written)
        while todo:
            for child in self._children.get(todo.pop(), ()):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        return frozenset(found)


_CASCADING = frozenset({"CASCADE", "SET NULL", "SET DEFAULT"})


class Watch(Protocol):
    def stamp(self) -> Hashable | None:
        """The versions of the watched tables now; None: trust nothing kept (read again)."""


class TableVersions(Protocol):
    """The versions of a database's tables, as every process of it sees them."""

    def watch(self, tables: Iterable[str]) -> Watch:
        """Stamps of these tables' versions (and of ``EVERY_TABLE``)."""

    def announcement(self, tables: frozenset[str]) -> tuple[str, dict[str, Any]] | None:
        """The statement a unit of work runs in its transaction, before its commit, to tell the
        other processes (None: nothing to run, ``committed`` tells them)."""

    def committed(self, tables: frozenset[str]) -> None:
        """A commit that wrote ``tables`` is done: their versions move on in this process (and,
        where that is how they travel, in the others)."""


# ------------------------------------------------------------------------------------ SQLite


class FileVersions:
    """Counters in a memory-mapped file shared by every process on the machine (SQLite). Tables
    share ``SLOTS`` counters by a hash of their names: two tables on one slot only cost a read
    more. A file of its own in memory (no path: an in-memory database) serves one process."""

    SLOTS = 512
    _FORMAT = struct.Struct("<Q")

    def __init__(self, path: Path | None) -> None:
        size = self.SLOTS * self._FORMAT.size
        self._path = path
        if path is None:
            self._map = mmap.mmap(-1, size)
            return
        with _opened(path) as fd:
            if os.fstat(fd).st_size < size:
                with _locked(fd):
                    if os.fstat(fd).st_size < size:
                        os.ftruncate(fd, size)
            self._map = mmap.mmap(fd, size)  # stays mapped when the file is closed

    @classmethod
    def slot(cls, table: str) -> int:
        return zlib.crc32(table.encode()) % cls.SLOTS

    def watch(self, tables: Iterable[str]) -> Watch:
        return _FileWatch(self, tuple(sorted({self.slot(t) for t in (*tables, EVERY_TABLE)})))

    def read(self, slot: int) -> int:
        value: int = self._FORMAT.unpack_from(self._map, slot * self._FORMAT.size)[0]
        return value

    def announcement(self, tables: frozenset[str]) -> None:
        return None

    def committed(self, tables: frozenset[str]) -> None:
        slots = {self.slot(table) for table in tables}
        with contextlib.ExitStack() as held:
            if self._path is not None:  # other processes move the counters too: one at a time
                held.enter_context(_locked(held.enter_context(_opened(self._path))))
            for slot in slots:
                offset = slot * self._FORMAT.size
                value = self._FORMAT.unpack_from(self._map, offset)[0]
                self._FORMAT.pack_into(self._map, offset, (value + 1) % 2**64)


class _FileWatch:
    __slots__ = ("_read", "_slots")

    def __init__(self, versions: FileVersions, slots: tuple[int, ...]) -> None:
        self._read = versions.read
        self._slots = slots

    def stamp(self) -> Hashable:
        read = self._read
        return tuple([read(slot) for slot in self._slots])


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[int]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def _locked(fd: int) -> Iterator[None]:
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


# ------------------------------------------------------------------------------------ PostgreSQL


RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)  # pauses before each new attempt to listen, the last repeated


class ListenedVersions:
    """Counters in this process, moved by its own commits and by the notices of the others
    (PostgreSQL ``LISTEN`` on a connection of its own, opened by ``start``). Untrusted (no stamps)
    until it listens and while its connection is lost or silent: the connection is asked a
    ``SELECT 1`` every ``heartbeat_seconds`` and given up when the answer does not come within
    ``connect_timeout`` (a database that hangs, a network that drops packets: notices could be
    lost without the connection closing). Reconnects with growing pauses."""

    def __init__(
        self,
        dsn: str | None,
        *,
        connect_timeout: float = 5.0,
        heartbeat_seconds: float = 2.0,
        retry_seconds: tuple[float, ...] = RETRY_SECONDS,
    ) -> None:
        self._dsn = dsn
        self._connect_timeout = connect_timeout
        self._heartbeat_seconds = heartbeat_seconds
        self._retry_seconds = retry_seconds
        self._versions: dict[str, int] = {}
        self._origin = secrets.token_hex(8)  # names this process's notices, which it skips (moved at commit)
        self._epoch = 0  # moves on whenever listening starts again: everything may have changed
        self.listening = False
        self._connection: Any = None
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self.notices = 0  # notices received (tests wait for them: ``wait_for_notices``)
        self.listens = 0  # times it started listening (tests: ``wait_for_listening``)
        self._arrived = asyncio.Event()

    def watch(self, tables: Iterable[str]) -> Watch:
        return _ListenedWatch(self, tuple(sorted({*tables, EVERY_TABLE})))

    def stamp(self, tables: tuple[str, ...]) -> Hashable | None:
        if not self.listening:
            return None
        versions = self._versions
        return (self._epoch, *[versions.get(table, 0) for table in tables])

    def announcement(self, tables: frozenset[str]) -> tuple[str, dict[str, Any]]:
        notice = f"{self._origin} {','.join(sorted(tables))}"
        return "SELECT pg_notify(:channel, :notice)", {"channel": CHANNEL, "notice": notice}

    def committed(self, tables: frozenset[str]) -> None:
        self._bump(tables)

    def _bump(self, tables: Iterable[str]) -> None:
        versions = self._versions
        for table in tables:
            versions[table] = versions.get(table, 0) + 1

    # -------------------------------------------------------------- listening

    async def start(self) -> None:
        """Listen from now on (in a task of its own, reconnecting when the connection is lost).
        Returns once the first attempt has listened or failed."""
        if self._task is not None or self._dsn is None:
            return
        first = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._listen(first), name="sono-table-versions")
        await first

    async def close(self) -> None:
        self.listening = False
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._disconnect()

    async def wait_for_notices(self, count: int) -> None:
        """Until ``count`` notices have arrived in all (tests: another process's commit seen)."""
        await self.wait_until(lambda: self.notices >= count)

    async def wait_for_listening(self, times: int) -> None:
        """Until it has started listening ``times`` times in all (tests: a reconnection)."""
        await self.wait_until(lambda: self.listens >= times)

    async def wait_until(self, ready: Callable[[], bool]) -> None:
        """Until ``ready()``, asked again whenever a notice arrives or listening starts or stops."""
        while not ready():
            self._arrived.clear()
            await self._arrived.wait()

    @property
    def backend_pid(self) -> int | None:
        """The server process of the listening connection (tests end it to see a reconnection)."""
        connection = self._connection
        return None if connection is None else int(connection.get_server_pid())

    async def _listen(self, first: asyncio.Future[None]) -> None:
        import asyncpg

        attempt = 0
        while True:
            try:
                self._lost.clear()
                connection = await asyncpg.connect(
                    self._dsn, timeout=self._connect_timeout, server_settings={"application_name": APPLICATION_NAME}
                )
                self._connection = connection
                connection.add_termination_listener(lambda _c: self._on_lost())
                await connection.add_listener(CHANNEL, self._on_notice)
                self._epoch += 1
                self.listening = True
                self.listens += 1
                self._arrived.set()
                attempt = 0
                if not first.done():
                    first.set_result(None)
                await self._heard_until_silent(connection)
                log.warning("table versions: the listening connection was lost; kept reads are off")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is down or refuses: read through until it is back
                log.warning("table versions: not listening (%s); kept reads are off", type(exc).__name__)
            finally:
                self.listening = False
                self._arrived.set()
                if not first.done():
                    first.set_result(None)
            await self._disconnect()
            await asyncio.sleep(self._retry_seconds[min(attempt, len(self._retry_seconds) - 1)])
            attempt += 1

    async def _heard_until_silent(self, connection: Any) -> None:
        """Returns when the connection is lost, or does not answer a heartbeat in time."""
        while not self._lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), self._heartbeat_seconds)
                return
            try:
                async with asyncio.timeout(self._connect_timeout):
                    await connection.fetchval("SELECT 1")
            except Exception:  # a timeout, or the connection failing: either way, nothing is heard
                return

    def _on_lost(self) -> None:
        self.listening = False
        self._lost.set()
        self._arrived.set()

    def _on_notice(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        origin, _, tables = payload.partition(" ")
        if origin == self._origin:
            return  # this process's own commit: its versions moved when it was done
        self._bump(tables.split(",") if tables else (EVERY_TABLE,))
        self.notices += 1
        self._arrived.set()

    async def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            try:
                await asyncio.wait_for(connection.close(), self._connect_timeout)
            except Exception:  # a silent server: drop the socket
                connection.terminate()


class _ListenedWatch:
    __slots__ = ("_tables", "_versions")

    def __init__(self, versions: ListenedVersions, tables: tuple[str, ...]) -> None:
        self._versions = versions
        self._tables = tables

    def stamp(self) -> Hashable | None:
        return self._versions.stamp(self._tables)


EVERYTHING = frozenset({EVERY_TABLE})


async def announce_everything(connection: AsyncConnection) -> None:
    """In a transaction that rewrote the database outside the units of work (a migration), on
    PostgreSQL: every listening process drops what it keeps when it commits (SQLite: call
    ``rewritten`` once committed)."""
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_notify(:channel, :notice)"), {"channel": CHANNEL, "notice": "- *"})


def rewritten(url: str) -> None:
    """After the database at ``url`` was rewritten outside the units of work (a migration, a
    restored backup): on SQLite every process drops what it keeps (PostgreSQL: see
    ``announce_everything``)."""
    versions = versions_for(url, listen=False)
    if isinstance(versions, FileVersions):
        versions.committed(EVERYTHING)


def versions_for(
    url: str, *, connect_timeout: float = 5.0, listen: bool = True, listen_url: str | None = None
) -> FileVersions | ListenedVersions:
    """The versions of the database at ``url``: ``FileVersions`` beside a SQLite file (in this
    process's memory for an in-memory database), ``ListenedVersions`` on PostgreSQL, listening on
    ``listen_url`` (default ``url``: a server reached directly, or through a pool in session mode,
    as ``LISTEN`` needs its session; ``listen`` False: never listening, so nothing is kept)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return FileVersions(None)
        return FileVersions(Path(f"{database}-versions"))
    if not listen:
        return ListenedVersions(None)
    listened = make_url(listen_url) if listen_url is not None else parsed
    dsn = listened.set(drivername="postgresql").render_as_string(hide_password=False)
    return ListenedVersions(dsn, connect_timeout=connect_timeout)
