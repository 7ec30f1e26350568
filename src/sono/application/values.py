"""Value types shared by the use cases and their ports (a page of a list, an omitted field, the
failures of a request's rules): they import nothing from the rest of the application, so that
every module may use them without a circle of imports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sono.domain.errors import FieldError, ValidationFailed

T = TypeVar("T")
U = TypeVar("U")
CALLER_GONE = "Could not validate credentials"
"""Why a request fails whose caller's account was deleted while it ran (as a moment later)."""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """A slice of a list (``skip``, at most the page size) and the length of the whole list."""

    items: Sequence[T]
    total: int
    skip: int = 0

    @property
    def has_more(self) -> bool:
        return self.skip + len(self.items) < self.total

    def with_items(self, items: Sequence[U]) -> Page[U]:
        """This page's place in the list with ``items`` in it (its own, shown another way)."""
        return Page(items, self.total, self.skip)


@dataclass
class Problems:
    """Collects rule failures for several fields, then raises them together as one 422."""

    errors: list[FieldError] = field(default_factory=list)

    def check(self, field_name: str, problems: list[str]) -> None:
        self.errors.extend(FieldError(field_name, message) for message in problems)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


class Unset:
    """Marks an optional field the client left out (as opposed to sending ``null``)."""

    _instance: Unset | None = None

    def __new__(cls) -> Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = Unset()
