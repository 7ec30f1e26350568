"""Database failures as the rest of Sono may see them.

* A database that refuses connections, stops answering, or runs out of time (connect timeout,
  statement timeout, lock wait, a full pool) is ``ServiceUnavailable("Database unavailable")``:
  the HTTP edge answers 503 and knows nothing of drivers.
* A row that refers to one a concurrent transaction deleted (a foreign key violation: the use
  cases hold what they refer to, see ``sono.application.uow``, so this is the last line) is the
  ``NotFound`` of the entity referred to, what the request would have met a moment later; two
  transactions that still wait for each other (a deadlock, or a serialisation failure) are a
  ``Conflict`` asking to try again. A lost race is never a 500.
* Any other driver error leaves the adapters as ``DatabaseError``, whose text holds only what is
  safe to log: the error types, the SQLSTATE, the names of the constraint, table and column, and
  the SQL (with placeholders; values are always bound). Never the driver's message, which can quote
  the values of a row (PostgreSQL's ``DETAIL: Key (email)=(...) already exists`` or
  ``Failing row contains (...)``, asyncpg's ``invalid input for query argument $1: ...``).
"""

from __future__ import annotations

import logging
import sqlite3
import traceback

from sqlalchemy import exc as sa_exc

from sono.adapters.sqlalchemy.tables import metadata
from sono.domain.errors import Conflict, NotFound, ServiceUnavailable, SonoError

log = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = "Database unavailable"

# SQLSTATE classes and codes that mean "the database cannot serve us now": 08 connection
# exception, 53 insufficient resources (too many connections, disk full, out of memory),
# 57P01-57P04 shutdown / cannot connect now / database dropped, 57014 statement timeout or
# cancelled, 55P03 lock timeout.
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P", "57014", "55P03")
_SQLITE_BUSY = ("database is locked", "database table is locked")
_FOREIGN_KEY_VIOLATION = "23503"
_SQLITE_FOREIGN_KEY = "FOREIGN KEY constraint failed"
_RACE_LOST_SQLSTATES = ("40P01", "40001")  # deadlock detected, serialization failure
RACE_LOST = "The request conflicted with a concurrent change, please try again"
GONE = {"users": "User not found", "audio_files": "Audio file not found", "collections": "Collection not found"}
"""What a request that referred to a row of these tables, deleted meanwhile, is told."""
_REFERRED = {
    str(fk.name): fk.referred_table.name for table in metadata.tables.values() for fk in table.foreign_key_constraints
}
_DRIVER_MODULES = ("sqlalchemy", "asyncpg", "aiosqlite", "sqlite3")
_SAFE_FIELDS = ("constraint_name", "table_name", "column_name", "schema_name", "data_type_name")
_MAX_SQL = 300


class DatabaseError(Exception):
    """A driver error, summarised without the values it may have quoted."""


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or during, outermost first."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not e for e in seen) and len(seen) < 16:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _is_driver_error(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.StatementError | sqlite3.Error):
        return True
    module = type(exc).__module__
    return module.startswith(("asyncpg", "aiosqlite")) or module == "sqlalchemy.dialects.postgresql.asyncpg"


def _from_driver_code(exc: BaseException) -> bool:
    """Raised in (or through) the database drivers or SQLAlchemy, as opposed to, say, storage."""
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        if str(frame.f_globals.get("__name__", "")).startswith(_DRIVER_MODULES):
            return True
    return False


def _sqlstate(exc: BaseException) -> str | None:
    value = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return value if isinstance(value, str) else None


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc``, raised while using the database, means it cannot serve us now."""
    if isinstance(exc, sa_exc.TimeoutError):  # no connection free in the pool in time
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OSError | TimeoutError) and not _from_driver_code(exc):
        return False  # e.g. storage failing inside a unit of work: not ours to translate
    for error in _chain(exc):
        if isinstance(error, OSError | TimeoutError):
            return True
        if type(error).__module__.startswith("asyncpg") and "connection is closed" in str(error):
            return True  # asyncpg's InterfaceError on a connection it has already closed
        state = _sqlstate(error)
        if state is not None and state.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        if isinstance(error, sqlite3.OperationalError) and str(error).startswith(_SQLITE_BUSY):
            return True
        if not (_is_driver_error(error) or isinstance(error, OSError | TimeoutError)):
            break  # something else was being handled when the driver failed: not a cause
    return False


def describe(exc: BaseException) -> str:
    """A one-line account of a database failure that quotes no value."""
    parts: list[str] = []
    statement: str | None = None
    for error in _chain(exc):
        if isinstance(error, sa_exc.StatementError) and error.statement and statement is None:
            statement = " ".join(error.statement.split())
        if not (_is_driver_error(error) or isinstance(error, OSError | TimeoutError)):
            if error is exc:
                continue
            break
        name = type(error).__name__
        if isinstance(error, OSError | TimeoutError):
            name += f" ({error.strerror})" if isinstance(error, OSError) and error.strerror else ""
        elif isinstance(error, sqlite3.Error):
            # SQLite's messages name the schema objects involved, never values.
            code = getattr(error, "sqlite_errorname", None)
            name += f" [{code}: {error}]" if code else f" [{error}]"
        else:
            state = _sqlstate(error)
            fields = [f"{field}={getattr(error, field)}" for field in _SAFE_FIELDS if getattr(error, field, None)]
            if state:
                fields.insert(0, f"SQLSTATE {state}")
            if fields:
                name += f" [{', '.join(fields)}]"
        if name not in parts:
            parts.append(name)
    text = " <- ".join(parts) or type(exc).__name__
    if statement:
        text += f"; SQL: {statement[:_MAX_SQL]}{'...' if len(statement) > _MAX_SQL else ''}"
    return text


def scrub(exc: BaseException) -> BaseException:
    """``exc`` fit for logging: a driver error becomes a ``DatabaseError`` that describes it (with
    its traceback); any other exception raised from one keeps that description as its cause."""
    if _is_driver_error(exc):
        clean = DatabaseError(describe(exc)).with_traceback(exc.__traceback__)
        clean.__suppress_context__ = True
        return clean
    chain = _chain(exc)[1:]
    if any(_is_driver_error(error) for error in chain):
        cause = next(error for error in chain if _is_driver_error(error))
        exc.__cause__ = scrub(cause)
        exc.__suppress_context__ = True
    return exc


def lost_race(exc: BaseException) -> SonoError | None:
    """The client's error for a driver error that means a concurrent transaction won: a foreign
    key violation (``NotFound`` of the row referred to, by the constraint's name where the
    database gives it) or a deadlock / serialisation failure (``Conflict``); None otherwise."""
    for error in _chain(exc):
        if not _is_driver_error(error):
            if error is exc:
                continue
            break
        state = _sqlstate(error)
        if state == _FOREIGN_KEY_VIOLATION or (
            isinstance(error, sqlite3.IntegrityError) and str(error).startswith(_SQLITE_FOREIGN_KEY)
        ):
            names = (getattr(e, "constraint_name", None) for e in _chain(exc))
            constraint = next((name for name in names if name), None)
            return NotFound(GONE.get(_REFERRED.get(str(constraint), ""), NotFound.detail))
        if state in _RACE_LOST_SQLSTATES:
            return Conflict(RACE_LOST)
    return None


def translate(exc: BaseException) -> BaseException:
    """What a database adapter raises in place of ``exc``: ``ServiceUnavailable`` when the database
    is unavailable, else ``exc`` scrubbed of any value the driver quoted."""
    if isinstance(exc, SonoError):  # already meant for the client (e.g. Conflict, "Storage unavailable")
        return scrub(exc)
    lost = lost_race(exc)
    if lost is not None:
        log.info("a concurrent change won: %s", describe(exc))
        lost.__cause__ = scrub(exc)
        lost.__suppress_context__ = True
        return lost
    if is_unavailable(exc):
        log.warning("database unavailable: %s", describe(exc))
        unavailable = ServiceUnavailable(DATABASE_UNAVAILABLE)
        unavailable.__cause__ = scrub(exc)
        unavailable.__suppress_context__ = True
        return unavailable
    return scrub(exc)
