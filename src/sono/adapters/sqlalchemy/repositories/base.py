"""What the SQL repositories share: the registry, unique violations as ``Conflict``, paging, and
keeping the session's objects in step with the database's ``ON DELETE`` actions.

Queries filter on the Core columns (``users.c.email``) and load the mapped domain classes. Bulk
``UPDATE``/``DELETE`` statements go through the ORM with ``synchronize_session="fetch"`` so that the
objects already in the session see the new values (they only ever set literal values: an expression
would expire the attribute, and a lazy load is not possible under asyncio).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Delete,
    FromClause,
    Select,
    Table,
    UnaryExpression,
    UniqueConstraint,
    Update,
    func,
    inspect,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, object_mapper
from sqlalchemy.orm.attributes import set_committed_value

from sono.adapters.sqlalchemy.tables import metadata
from sono.application.values import Page
from sono.domain.errors import Conflict

T = TypeVar("T")
R = TypeVar("R", bound=type)

_ID_MAX = 2**31 - 1  # ids are 32-bit integers: a larger one names no row (and must not reach SQL)

REPOSITORIES: dict[str, Callable[[AsyncSession], object]] = {}
"""Repository name (an attribute of the unit of work) -> class taking the session."""


def repository(name: str) -> Callable[[R], R]:
    """Register the decorated class as the SQL implementation of ``UnitOfWork.<name>``."""

    def register(cls: R) -> R:
        if name in REPOSITORIES:
            raise RuntimeError(f"two SQL repositories named {name!r}")
        REPOSITORIES[name] = cls
        return cls

    return register


# --------------------------------------------------------------------------- unique violations

_PG_UNIQUE_VIOLATION = "23505"
_SQLITE_UNIQUE = "UNIQUE constraint failed: "


def _sqlite_unique_names() -> dict[str, str]:
    """SQLite reports the columns of a violated constraint (``users.username``), not its name;
    map the columns of every primary key, unique constraint and unique index back to the name.
    (A violated expression index is reported by name: ``index 'uq_users_email_lower'``.)"""
    names: dict[str, str] = {}
    for table in metadata.tables.values():
        constraints: list[Any] = [table.primary_key]
        constraints += [c for c in table.constraints if isinstance(c, UniqueConstraint)]
        constraints += [i for i in table.indexes if i.unique]
        for constraint in constraints:
            columns = ", ".join(f"{table.name}.{column.name}" for column in constraint.columns)
            if columns:
                names[columns] = str(constraint.name)
    return names


_SQLITE_UNIQUE_NAMES = _sqlite_unique_names()


def conflict_for(error: IntegrityError) -> Conflict | None:
    """The ``Conflict`` naming the violated unique constraint; None for other integrity errors."""
    cause = error.orig
    if getattr(cause, "sqlstate", None) == _PG_UNIQUE_VIOLATION:  # asyncpg
        return Conflict(constraint=getattr(getattr(cause, "__cause__", None), "constraint_name", None))
    message = str(cause)
    if not message.startswith(_SQLITE_UNIQUE):
        return None
    violated = message.removeprefix(_SQLITE_UNIQUE).strip()
    if violated.startswith("index '"):
        return Conflict(constraint=violated.removeprefix("index '").rstrip("'"))
    return Conflict(constraint=_SQLITE_UNIQUE_NAMES.get(violated))


@contextmanager
def unique_violations_as_conflict() -> Iterator[None]:
    try:
        yield
    except IntegrityError as error:
        conflict = conflict_for(error)
        if conflict is None:
            raise
        raise conflict from None


# --------------------------------------------------------------------------- helpers


def newest(*columns: ColumnElement[Any]) -> tuple[UnaryExpression[Any], ...]:
    return tuple(column.desc() for column in columns)


def like_pattern(text: str) -> str:
    """A ``LIKE`` pattern matching ``text`` anywhere, with ``%``, ``_`` and ``\\`` taken literally
    (use with ``escape="\\\\"``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _apply_on_delete(session: Session, table: FromClause, key: tuple[Any, ...] | None) -> None:
    """Do to the objects the session holds what the database's ``ON DELETE`` actions did to their
    rows once the row ``key`` of ``table`` was deleted: forget them (CASCADE, recursively) or
    clear the reference (SET NULL). Otherwise ``get`` could return a row that is gone."""
    _forget_cascaded(session, table, key, [])


async def _prune_vanished_children(session: AsyncSession) -> None:
    """Aggregates held by the session (a collection's tracks and collaborators) lose the children
    whose rows a cascade removed, also when the row in between (an audio file of a deleted user)
    was never loaded: one query per kind of child, and only when such aggregates are loaded."""
    lists: dict[Table, list[tuple[object, str, list[Any]]]] = {}
    for holder in list(session.identity_map.values()):
        state = inspect(holder)
        for relationship in state.mapper.relationships:
            children = state.dict.get(relationship.key)
            if relationship.uselist and children:
                lists.setdefault(relationship.mapper.local_table, []).append((holder, relationship.key, children))
    for table, holders in lists.items():
        (key_column,) = table.primary_key.columns
        wanted = {
            inspect(child).identity[0] for _, _, children in holders for child in children if inspect(child).identity
        }
        if not wanted:
            continue
        present = set(await session.scalars(select(key_column).where(key_column.in_(wanted))))
        for holder, name, children in holders:
            kept = [c for c in children if inspect(c).identity is None or inspect(c).identity[0] in present]
            if len(kept) != len(children):
                for child in children:
                    if child not in kept and child in session.sync_session:
                        session.expunge(child)
                set_committed_value(holder, name, kept)


def _forget_cascaded(session: Session, table: FromClause, key: tuple[Any, ...] | None, forgotten: list[object]) -> None:
    """The loaded objects whose rows the deletion of ``key`` cascaded to, forgotten; references to
    it cleared."""
    if key is None:
        return
    for instance in list(session.identity_map.values()):
        state = inspect(instance)
        child_table = state.mapper.local_table
        for fk in child_table.foreign_keys:
            if fk.column.table is not table or state.dict.get(fk.parent.key) != key[0]:
                continue
            if fk.ondelete == "CASCADE":
                if instance in session:
                    session.expunge(instance)
                    forgotten.append(instance)
                _forget_cascaded(session, child_table, state.identity, forgotten)
            elif fk.ondelete == "SET NULL":
                set_committed_value(instance, fk.parent.key, None)


class SqlRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _first(self, statement: Select[T]) -> T | None:
        return (await self.session.scalars(statement.limit(1))).first()

    async def _all(self, statement: Select[T]) -> list[T]:
        return list(await self.session.scalars(statement))

    async def _page(self, statement: Select[T], order: Sequence[Any], skip: int, limit: int) -> Page[T]:
        items = await self._all(statement.order_by(*order).offset(skip).limit(limit))
        if len(items) < limit and (items or skip == 0):  # the last page: no need to count
            return Page(items, skip + len(items), skip)
        return Page(items, await self._count(statement), skip)

    async def _count(self, statement: Select[Any]) -> int:
        return await self.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0

    async def _insert(self, instance: T, *, may_conflict: bool = False) -> T:
        """Insert now, assigning the id. Inside a savepoint when a unique constraint may be
        violated, so that the ``Conflict`` leaves the rest of the unit of work intact."""
        with unique_violations_as_conflict():
            if may_conflict:
                async with self.session.begin_nested():
                    self.session.add(instance)
            else:
                self.session.add(instance)
                await self.session.flush()
        return instance

    async def _delete(self, instance: object) -> None:
        key = inspect(instance).identity
        await self.session.delete(instance)
        await self.session.flush()
        _apply_on_delete(self.session.sync_session, object_mapper(instance).local_table, key)
        await _prune_vanished_children(self.session)

    async def _bulk(self, statement: Update | Delete) -> int:
        """Run an ORM-enabled bulk UPDATE or DELETE; the number of rows it matched."""
        result = await self.session.execute(statement.execution_options(synchronize_session="fetch"))
        return cast(CursorResult[Any], result).rowcount

    async def _hold(self, table: Table, ids: Iterable[int], *, exclusive: bool) -> set[int]:
        """Lock the rows ``ids`` of ``table`` in id order until the transaction ends; the ids
        found. ``FOR KEY SHARE`` (what a foreign key check takes: it keeps the row from being
        deleted, not from ordinary updates) or ``FOR UPDATE`` (``exclusive``). SQLite renders no
        lock: its writers are serialised."""
        wanted = sorted({i for i in ids if 1 <= i <= _ID_MAX})
        if not wanted:
            return set()
        (key,) = table.primary_key.columns
        statement = select(key).where(key.in_(wanted)).order_by(key)
        statement = statement.with_for_update() if exclusive else statement.with_for_update(read=True, key_share=True)
        return set(await self.session.scalars(statement))

    def _insert_statement(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        """The dialect's ``INSERT`` (both have ``on_conflict_do_nothing``/``_do_update``)."""
        dialect = self.session.get_bind().dialect.name
        return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
