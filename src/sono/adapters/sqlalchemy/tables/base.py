"""What the features' tables share: the metadata (with its naming conventions), the column types
and helpers, and the registries a feature's module fills when it is imported: the domain classes
to map onto its tables (``mapped``) and the objects only its migrations make (``migration_only``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Dialect,
    Enum,
    Integer,
    MetaData,
    Table,
    TypeDecorator,
    func,
    inspect,
)
from sqlalchemy.orm import registry

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
mapper_registry = registry(metadata=metadata)


class UtcDateTime(TypeDecorator[datetime]):
    """``TIMESTAMP WITH TIME ZONE`` that always hands back aware UTC datetimes.

    SQLite has no time zones: values are stored as naive UTC text. Naive input is taken as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = _as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else _as_utc(value)


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_type(cls: type[enum.StrEnum], name: str) -> Enum:
    """A ``VARCHAR(20)`` with a CHECK constraint (``ck_<table>_<name>``), read back as ``cls``."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
    )


def id_column() -> Column[int]:
    return Column("id", Integer, primary_key=True)


def timestamp(name: str, *, nullable: bool = True, index: bool = False) -> Column[datetime]:
    return Column(name, UtcDateTime(), nullable=nullable, index=index)


def created(name: str, *, index: bool = False) -> Column[datetime]:
    """A creation time that lists are ordered by: required, defaulting to the database's now."""
    return Column(name, UtcDateTime(), nullable=False, server_default=func.now(), index=index)


# --------------------------------------------------------------------------- mappings

Properties = Callable[[], dict[str, Any]]

_MAPPINGS: list[tuple[type, Table, Properties | None]] = []
"""(domain class, table, its mapper's properties) in the order the features' modules declared them."""


def mapped(cls: type, table: Table, properties: Properties | None = None) -> None:
    """Have ``start_mappers`` map ``cls`` imperatively onto ``table``; ``properties`` makes the
    mapper's extra properties (relationships) when it does."""
    if any(known is cls for known, _, _ in _MAPPINGS):
        raise RuntimeError(f"{cls.__name__} is mapped twice")
    _MAPPINGS.append((cls, table, properties))


def start_mappers() -> None:
    """Map the domain dataclasses onto the tables (once; later calls do nothing)."""
    for cls, table, properties in _MAPPINGS:
        if inspect(cls, raiseerr=False) is None:
            mapper_registry.map_imperatively(cls, table, properties=properties() if properties else {})


# --------------------------------------------------------------------------- migrations' own objects

_MIGRATION_ONLY: list[Callable[[str], bool]] = []


def migration_only(predicate: Callable[[str], bool]) -> Callable[[str], bool]:
    """Register ``predicate``: whether a table or index found in the database is one that only the
    migrations make (kept out of the comparison with these tables). Returns it unchanged."""
    _MIGRATION_ONLY.append(predicate)
    return predicate


def is_migration_only(name: str | None) -> bool:
    """Whether a table or index found in the database is one the migrations make that these tables
    do not describe (the library's text indexes, say)."""
    return bool(name) and any(predicate(str(name)) for predicate in _MIGRATION_ONLY)


def include_in_comparison(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's ``include_object``: the objects only the migrations make are theirs alone."""
    return not (reflected and compare_to is None and is_migration_only(name))
