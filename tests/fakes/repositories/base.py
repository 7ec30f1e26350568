"""The in-memory database behind the fake repositories, and the registries they are built from.

A ``FakeDatabase`` holds one ``FakeTable`` (a dict by primary key) per SQL table and enforces what
the schema does: ids, the unique constraints (raising ``Conflict`` with the same names), the
``ON DELETE`` actions of the foreign keys (optionally the references themselves) and the
creation-time defaults. It names no table itself: each feature's module of this package declares,
when it is imported, its tables (``fake_table``), their foreign keys (``foreign_key``) and what
deleting a row does to the child rows its aggregates hold in their own lists (``on_delete``), as
it registers its repositories (``@repository``). Each unit of work reaches the database through a
``FakeSession`` that records the rows it may change so that a rollback can undo them.
Repositories hand out the stored objects themselves: changing one changes the database.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, Literal, TypeVar

from sono.application.values import Page
from sono.domain.errors import Conflict

T = TypeVar("T")
R = TypeVar("R", bound=type)
Where = Callable[[T], bool]
OnDelete = Literal["cascade", "set null"]

REPOSITORIES: dict[str, Callable[[FakeSession], object]] = {}
"""Repository name (an attribute of the unit of work) -> class taking the fake session."""


def repository(name: str) -> Callable[[R], R]:
    """Register the decorated class as the in-memory implementation of ``UnitOfWork.<name>``."""

    def register(cls: R) -> R:
        if name in REPOSITORIES:
            raise RuntimeError(f"two fake repositories named {name!r}")
        REPOSITORIES[name] = cls
        return cls

    return register


class ForeignKeyViolation(Exception):
    """A row points at a parent that does not exist (the SQL adapter raises ``IntegrityError``)."""


@dataclass(frozen=True)
class Unique:
    """A unique constraint; ``keys`` returns the keys a row holds (none for rows a partial index
    does not cover; several for an aggregate holding child rows)."""

    name: str
    keys: Callable[[Any], Iterable[Hashable]]


def single(key: Callable[[Any], Hashable | None]) -> Callable[[Any], Iterable[Hashable]]:
    """``keys`` for a constraint on one row's columns (None: the row is not covered)."""

    def keys(row: Any) -> Iterable[Hashable]:
        value = key(row)
        return () if value is None else (value,)

    return keys


class FakeTable(dict[Any, T]):
    """The rows of one table by primary key."""

    def __init__(
        self, name: str, *, key: str = "id", unique: Sequence[Unique] = (), created: str | None = None
    ) -> None:
        super().__init__()
        self.name = name
        self.key = key
        self.unique = (Unique(f"pk_{name}", single(attrgetter(key))), *unique)
        self.created = created  # the column the database fills with "now" when left empty
        self._ids = itertools.count(1)

    def key_of(self, row: T) -> Any:
        return getattr(row, self.key)

    def fill_defaults(self, row: T) -> None:
        if self.key == "id" and getattr(row, "id", None) is None:
            row.id = self.next_id()  # type: ignore[attr-defined]
        if self.created and getattr(row, self.created) is None:
            setattr(row, self.created, datetime.now(UTC))

    def next_id(self) -> int:
        return next(id_ for id_ in self._ids if id_ not in self)

    def check_unique(self, candidates: Iterable[T] | None = None) -> None:
        """Raise ``Conflict`` when a candidate (by default every row) shares a key with another row
        or holds one key twice (an aggregate's children)."""
        rows = list(self.values())
        checked = rows if candidates is None else list(candidates)
        checked_ids = {id(row) for row in checked}
        stored_ids = {id(row) for row in rows}
        everything = rows + [row for row in checked if id(row) not in stored_ids]
        for constraint in self.unique:
            owners: dict[Hashable, Any] = {}
            for row in everything:
                held: set[Hashable] = set()
                for key in constraint.keys(row):
                    owner = owners.setdefault(key, row)
                    clash = key in held or owner is not row
                    held.add(key)
                    if clash and (id(row) in checked_ids or id(owner) in checked_ids):
                        raise Conflict(constraint=constraint.name)


@dataclass(frozen=True)
class TableSpec:
    """A table as a feature's module declares it (``fake_table``)."""

    attribute: str
    name: str
    key: str
    unique: Sequence[Unique]
    created: str | None


@dataclass(frozen=True)
class ForeignKeySpec:
    """A foreign key as a feature's module declares it (``foreign_key``), tables by attribute."""

    table: str
    column: str
    parent: str
    on_delete: OnDelete


@dataclass(frozen=True)
class ForeignKey:
    table: FakeTable[Any]
    column: str
    parent: FakeTable[Any]
    on_delete: OnDelete


OnDeleteHook = Callable[["FakeSession", FakeTable[Any], Any], None]

TABLES: dict[str, TableSpec] = {}
"""``FakeDatabase`` attribute -> the table declared under it."""
_FOREIGN_KEYS: list[ForeignKeySpec] = []
_ON_DELETE: list[OnDeleteHook] = []


def fake_table(
    attribute: str, name: str, *, key: str = "id", unique: Sequence[Unique] = (), created: str | None = None
) -> None:
    """Declare the table ``name`` of the SQL schema, reached as ``FakeDatabase.<attribute>``: its
    primary key's attribute, its unique constraints and the column the database fills with "now"
    when left empty. Each feature's module declares its own tables when it is imported."""
    if attribute in TABLES or any(spec.name == name for spec in TABLES.values()):
        raise RuntimeError(f"two fake tables named {attribute!r} or {name!r}")
    TABLES[attribute] = TableSpec(attribute, name, key, tuple(unique), created)


def foreign_key(table: str, column: str, parent: str, on_delete: OnDelete = "cascade") -> None:
    """Declare that ``<table>.<column>`` refers to the primary key of ``parent`` (tables by their
    ``FakeDatabase`` attribute) with this ``ON DELETE`` action."""
    _FOREIGN_KEYS.append(ForeignKeySpec(table, column, parent, on_delete))


def on_delete(hook: OnDeleteHook) -> OnDeleteHook:
    """Register ``hook(session, table, key)``, called after every row deletion: what the foreign
    keys of the child rows an aggregate holds in its own lists (not in a table here) do."""
    _ON_DELETE.append(hook)
    return hook


class FakeDatabase:
    """Every table the features' modules declared, shared by the units of work of one
    ``FakeUnitOfWorkFactory``; a table is the attribute it was declared under (``database.<attribute>``).

    ``check_references`` makes inserts refuse rows that point at missing parents, as the database
    does (off by default, so that tests may use ids of rows they did not create)."""

    def __init__(self, *, check_references: bool = False) -> None:
        self.enforce_references = check_references
        self._tables: dict[str, FakeTable[Any]] = {
            spec.attribute: FakeTable(spec.name, key=spec.key, unique=spec.unique, created=spec.created)
            for spec in TABLES.values()
        }
        self.foreign_keys = tuple(
            ForeignKey(self._tables[fk.table], fk.column, self._tables[fk.parent], fk.on_delete) for fk in _FOREIGN_KEYS
        )
        self._child_ids = itertools.count(1)

    def __getattr__(self, attribute: str) -> FakeTable[Any]:
        try:
            return self.__dict__["_tables"][attribute]
        except KeyError:
            raise AttributeError(f"no fake table {attribute!r}") from None

    def tables(self) -> list[FakeTable[Any]]:
        return list(self._tables.values())

    def check_unique(self) -> None:
        for table in self.tables():
            table.check_unique()

    def check_references(self, table: FakeTable[Any], row: object) -> None:
        if not self.enforce_references:
            return
        for fk in self.foreign_keys:
            value = getattr(row, fk.column) if fk.table is table else None
            if value is not None and value not in fk.parent:
                raise ForeignKeyViolation(f"{table.name}.{fk.column}: no {fk.parent.name} row {value!r}")

    def new_child_id(self) -> int:
        """An id for a child row an aggregate holds in its own lists."""
        return next(self._child_ids)


_Undo = tuple[FakeTable[Any], Any, dict[str, Any], bool]


class FakeSession:
    """One unit of work's view of the database. Remembers, the first time it hands out or changes
    a row, the row's values and whether it was stored, so that ``undo`` can put them back."""

    def __init__(self, database: FakeDatabase) -> None:
        self.database = database
        self._before: dict[int, _Undo] = {}

    def select(self, table: FakeTable[T], where: Where[T] | None = None) -> list[T]:
        rows = [row for row in table.values() if where is None or where(row)]
        for row in rows:
            self.touch(table, row)
        return rows

    def first(self, table: FakeTable[T], where: Where[T]) -> T | None:
        return next(iter(self.select(table, where)), None)

    def get(self, table: FakeTable[T], key: Any) -> T | None:
        row = table.get(key)
        if row is not None:
            self.touch(table, row)
        return row

    def insert(self, table: FakeTable[T], row: T) -> T:
        self.touch(table, row)
        given = _values(row)
        table.fill_defaults(row)
        try:
            self.database.check_references(table, row)
            table.check_unique([row])
        except Exception:
            _assign(row, given)
            raise
        table[table.key_of(row)] = row
        return row

    def update(self, table: FakeTable[T], where: Where[T], **values: Any) -> int:
        rows = self.select(table, where)
        for row in rows:
            for name, value in values.items():
                setattr(row, name, value)
        return len(rows)

    def delete(self, table: FakeTable[T], row: T) -> None:
        """Delete the row and apply the ``ON DELETE`` action of every foreign key to it."""
        self.touch(table, row)
        key = table.key_of(row)
        if table.pop(key, None) is None:
            return
        for fk in self.database.foreign_keys:
            if fk.parent is not table:
                continue
            for child in [child for child in fk.table.values() if getattr(child, fk.column) == key]:
                if fk.on_delete == "cascade":
                    self.delete(fk.table, child)
                else:
                    self.touch(fk.table, child)
                    setattr(child, fk.column, None)
        for hook in _ON_DELETE:
            hook(self, table, key)

    def delete_where(self, table: FakeTable[T], where: Where[T]) -> list[T]:
        rows = self.select(table, where)
        for row in rows:
            self.delete(table, row)
        return rows

    def touch(self, table: FakeTable[Any], row: object) -> None:
        if id(row) not in self._before:
            stored = table.get(table.key_of(row)) is row
            self._before[id(row)] = (table, row, _values(row), stored)

    def undo(self) -> None:
        for table, row, values, stored in reversed(self._before.values()):
            if table.get(table.key_of(row)) is row:
                del table[table.key_of(row)]
            _assign(row, values)
            if stored:
                table[table.key_of(row)] = row
        self._before.clear()

    def checkpoint(self) -> None:
        """Make the current values what ``undo`` goes back to (after a commit)."""
        for key, (table, row, _, _) in list(self._before.items()):
            self._before[key] = (table, row, _values(row), table.get(table.key_of(row)) is row)


class _Children(list[tuple[Any, dict[str, Any]]]):
    """A snapshot of a list of child rows: each child and its values."""


def _values(row: Any) -> dict[str, Any]:
    return {f.name: _snapshot(getattr(row, f.name)) for f in fields(row)}


def _snapshot(value: Any) -> Any:
    if isinstance(value, dict):
        return {**value}
    if isinstance(value, list):
        return _Children((item, _values(item) if is_dataclass(item) else {}) for item in value)
    return value


def _assign(row: object, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(row, name, _restore(value))


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        return {**value}
    if isinstance(value, _Children):
        for item, values in value:
            _assign(item, values)
        return [item for item, _ in value]
    return value


def newest(rows: list[T], column: str) -> list[T]:
    """``column`` desc, ``id`` desc."""
    return sorted(rows, key=attrgetter(column, "id"), reverse=True)


def page(rows: list[T], skip: int, limit: int) -> Page[T]:
    return Page(rows[skip : skip + limit], len(rows), skip)


def contains(text: str | None, query: str) -> bool:
    """Case-insensitive substring test (what ``LIKE '%q%'`` on lowered columns does)."""
    return text is not None and query.lower() in text.lower()


class FakeRepository:
    def __init__(self, session: FakeSession) -> None:
        self.session = session
        self.db = session.database
