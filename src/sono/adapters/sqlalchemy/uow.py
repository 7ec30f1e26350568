"""The unit of work over an ``AsyncSession``.

Lock order (documented with the port, ``sono.application.uow``): users, then audio files, then
collections, then the rows written; each kind in ascending id. ``hold`` takes ``FOR KEY SHARE``
(``FOR UPDATE`` when exclusive), ``get(for_update=True)`` ``FOR UPDATE``. Foreign key violations
and deadlocks that still happen are translated (``sono.adapters.sqlalchemy.errors``)."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sono.adapters.sqlalchemy import errors
from sono.adapters.sqlalchemy.engine import with_deferred_begin
from sono.adapters.sqlalchemy.repositories import REPOSITORIES, unique_violations_as_conflict
from sono.adapters.sqlalchemy.tables import metadata, start_mappers
from sono.adapters.sqlalchemy.versions import WRITTEN, Cascades, TableVersions, track_writes, versions_for
from sono.application.uow import Repositories, UnitOfWork, UnitOfWorkFactory
from sono.domain.errors import ServiceUnavailable


class SqlUnitOfWork(Repositories):
    """One transaction on one ``AsyncSession``; it begins on first use, also after a commit.
    Repositories (``uow.users``, ...) come from the registry, made on first use. Read-only units of
    work begin ``DEFERRED`` on SQLite, so they never wait for the write lock; the others pass the
    factory's write gate first. A commit that wrote tables moves their versions on
    (``sono.adapters.sqlalchemy.versions``): announced inside the transaction, then moved here once
    it is committed."""

    session: AsyncSession

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        gate: _WriteGate | None,
        versions: TableVersions,
        cascades: Cascades,
        checkout_timeout: float | None = None,
    ) -> None:
        self._sessions = sessions
        self._gate = gate
        self._versions = versions
        self._cascades = cascades
        self._checkout_timeout = checkout_timeout

    def __getattr__(self, name: str) -> Any:
        """A repository of the registry, made once per unit of work."""
        make = REPOSITORIES.get(name)
        if make is None or "session" not in self.__dict__:
            raise AttributeError(name)
        repository = make(self.session)
        setattr(self, name, repository)
        return repository

    async def __aenter__(self) -> Self:
        if self._gate is not None:
            await self._gate.acquire()
        for name in REPOSITORIES:  # a unit of work may be entered again after a commit
            self.__dict__.pop(name, None)
        self.session = self._sessions()
        if self._checkout_timeout is not None:
            await self._connect_within(self._checkout_timeout)
        return self

    async def _connect_within(self, seconds: float) -> None:
        """Take the session's connection now, within ``seconds``: the pool's wait, its liveness
        ping and a reconnection together (each has its own timeout; this bounds their sum)."""
        try:
            async with asyncio.timeout(seconds):
                await self.session.connection()
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await self.session.close()
            if self._gate is not None:
                self._gate.release()
            if isinstance(exc, TimeoutError):  # ours: the database did not hand out a connection in time
                errors.log.warning("database unavailable: no connection within %.1f s", seconds)
                raise ServiceUnavailable(errors.DATABASE_UNAVAILABLE) from None
            if isinstance(exc, Exception):
                raise errors.translate(exc)  # noqa: B904 - translate() chains what is safe to log
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Roll back what was not committed. What leaves the unit of work is translated (see
        ``sono.adapters.sqlalchemy.errors``): ``ServiceUnavailable`` when the database cannot
        serve, and never a driver message that could quote a value."""
        try:
            await self.session.close()
        except Exception as close_error:
            if exc is None:
                raise errors.translate(close_error)  # noqa: B904 - translate() chains what is safe to log
            # the failure in the block (or a cancellation) is the one to report
        finally:
            if self._gate is not None:
                self._gate.release()
        if isinstance(exc, Exception):
            translated = errors.translate(exc)
            if translated is not exc:
                raise translated.with_traceback(tb)

    async def commit(self) -> None:
        written: frozenset[str] = frozenset()
        try:
            with unique_violations_as_conflict():
                written = await self._take_written()
                announcement = self._versions.announcement(written) if written else None
                if announcement is not None:
                    await self.session.execute(text(announcement[0]), announcement[1])
                await self.session.commit()
        except BaseException as error:
            with contextlib.suppress(Exception):  # a lost connection took the transaction along
                await self.session.rollback()
            if isinstance(error, Exception):
                translated = errors.translate(error)
                if translated is not error:
                    raise translated  # noqa: B904 - translate() chains what is safe to log
            raise
        if written:
            self._versions.committed(written)

    async def _take_written(self) -> frozenset[str]:
        """The tables this transaction wrote, its pending changes flushed first."""
        session = self.session
        if not session.in_transaction():
            return frozenset()
        await session.flush()
        connection = await session.connection()
        written = connection.info.pop(WRITTEN, ())
        return self._cascades(written) if written else frozenset()

    async def rollback(self) -> None:
        await self.session.rollback()


class _WriteGate:
    """SQLite has one writer at a time. Writers of this process queue here, in order, instead of
    in SQLite's busy handler, which sleeps with growing back-off (up to 100 ms a try) and so lets
    the lock sit idle while everyone sleeps. Writers of other processes still meet the busy
    handler. One lock per event loop; a task that already holds it may not open another writer."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()
        self._holders: weakref.WeakSet[asyncio.Task[object]] = weakref.WeakSet()

    async def acquire(self) -> None:
        task = asyncio.current_task()
        if task is not None and task in self._holders:
            raise RuntimeError("a writing unit of work is already open in this task")
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        await lock.acquire()
        if task is not None:
            self._holders.add(task)

    def release(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._holders.discard(task)
        self._locks[asyncio.get_running_loop()].release()


class SqlUnitOfWorkFactory:
    """Makes units of work on ``engine``. Starts the mappers, so it is safe to build first."""

    def __init__(
        self, engine: AsyncEngine, *, versions: TableVersions | None = None, checkout_timeout: float | None = None
    ) -> None:
        """``checkout_timeout`` (PostgreSQL): units of work take their connection when they start,
        within that many seconds, else ``ServiceUnavailable`` (web requests: a hung database is a
        quick 503). ``versions``: the tables' versions its commits move on (by default the
        database's, not listening: ``versions_for``)."""
        start_mappers()
        track_writes(engine)
        self._cascades = Cascades(metadata)
        self.engine = engine
        self.versions: TableVersions = (
            versions if versions is not None else versions_for(engine.url.render_as_string(False), listen=False)
        )
        self._checkout_timeout = checkout_timeout if engine.dialect.name != "sqlite" else None
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(with_deferred_begin(engine), expire_on_commit=False)
        self._gate = _WriteGate() if engine.dialect.name == "sqlite" else None

    def __call__(self, *, read_only: bool = False) -> SqlUnitOfWork:
        # mypy takes the registry's repositories for abstract attributes: __getattr__ makes them
        if read_only:
            return SqlUnitOfWork(self._read_sessions, None, self.versions, self._cascades, self._checkout_timeout)  # type: ignore[abstract]
        return SqlUnitOfWork(self._sessions, self._gate, self.versions, self._cascades, self._checkout_timeout)  # type: ignore[abstract]


if TYPE_CHECKING:  # the adapter implements the ports

    def _implements(uow: SqlUnitOfWork, factory: SqlUnitOfWorkFactory) -> tuple[UnitOfWork, UnitOfWorkFactory]:
        return uow, factory
