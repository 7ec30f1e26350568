"""What every feature's schemas share: the error bodies, the request base class that refuses NUL
characters, bounded text types, the list envelope and timestamps.

Each feature keeps its own request and response shapes (msgspec Structs, so the OpenAPI schema is
generated from them) and presenters in its package's ``schemas`` module.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, TypeVar

import msgspec
from litestar.params import PathParameter, QueryParameter
from msgspec import Meta

from sono.application.ports import Renditions
from sono.domain.text import without_bidi_controls

S = TypeVar("S")
R = TypeVar("R")

NUL_REFUSED = "Value must not contain NUL characters"
NO_NUL = r"^[^\x00]*$"


# --------------------------------------------------------------------------- errors


class ErrorBody(msgspec.Struct):
    detail: str


class FieldErrorBody(msgspec.Struct):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(msgspec.Struct):
    detail: list[FieldErrorBody]


class MaintenanceBody(msgspec.Struct):
    detail: str
    status: str
    retry_after: int


class MessageOut(msgspec.Struct):
    message: str


# --------------------------------------------------------------------------- requests


def _nul_in(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_nul_in(item) for item in value)
    return False


def _shown(value: Any) -> Any:
    if isinstance(value, str):
        return without_bidi_controls(value)
    if isinstance(value, list):
        return [_shown(item) for item in value]
    return value


class Input(msgspec.Struct):
    """Base of every request body. Unknown fields are ignored (clients send extras); a NUL
    character in any text is refused with a 422 naming the field, so no input reaches the database
    unchecked (PostgreSQL refuses NUL in text); bidirectional controls are dropped from every text
    (``sono.domain.text``) except the fields a subclass lists in ``verbatim`` (passwords, tokens)."""

    verbatim: ClassVar[frozenset[str]] = frozenset()

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if _nul_in(value):
                raise ValueError(f"{NUL_REFUSED} - at `$.{name}`")
            if name not in self.verbatim and isinstance(value, str | list):
                setattr(self, name, _shown(value))


def text(max_length: int, *, description: str | None = None, min_length: int = 0, **extra: Any) -> Any:
    """A bounded text field (NUL refused by ``Input``)."""
    return Meta(min_length=min_length, max_length=max_length, description=description, **extra)


QueryText = Annotated[str, Meta(pattern=NO_NUL)]
QUERY_TEXT_MAX = 1000
"""The edge's cap on a text query parameter (its use case checks its own, lower limit): even in
four-byte characters, percent-encoded, it stays well inside the server's limit on a request line."""
"""A query or path parameter's text: NUL refused with a 422 (use ``max_length`` per parameter)."""

ID_MAX = 2**31 - 1
"""Ids are 32-bit integers in the database: anything larger is refused at the edge (422)."""
SKIP_MAX = ID_MAX

Id = Annotated[int, PathParameter(ge=1, le=ID_MAX)]
"""An id in a path (``/{audio_id:int}``)."""
Skip = Annotated[int, QueryParameter(ge=0, le=SKIP_MAX, description="Items to skip")]
Limit = Annotated[int, QueryParameter(ge=1, le=100, description="Items per page (1..100)")]


def documented(**constraints: Any) -> dict[str, Any]:
    """``Meta(extra_json_schema=documented(pattern=...))``: constraints shown in the OpenAPI schema
    (Litestar copies ``extra`` into it) that msgspec does not enforce: the use cases check them and
    answer 422 with messages of their own."""
    return {"extra": constraints}


# --------------------------------------------------------------------------- responses


def utc(value: datetime | None) -> datetime | None:
    """Aware UTC with at most millisecond precision (rendered with a ``Z``); a naive value from the
    database is taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is UTC and not value.microsecond % 1000:  # as the database hands most back
        return value
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def values_of(instance: object, names: frozenset[str]) -> dict[str, Any]:
    """The values of ``names`` on a domain object, read from the instance's dictionary where the
    ORM keeps the loaded ones (each instrumented attribute read is a descriptor call, and a list
    page presents hundreds); through the attributes when one is not loaded."""
    values = vars(instance)
    return values if values.keys() >= names else {name: getattr(instance, name) for name in names}


def page_fields(items: Sequence[Any], total: int, skip: int) -> dict[str, Any]:
    """The list envelope's fields ``items``, ``total`` and ``has_more``, for a feature's page Struct
    (which adds the legacy key the existing clients read the same array from: ``files``,
    ``collections`` or ``announcements``)."""
    listed = list(items)
    return {"items": listed, "total": total, "has_more": skip + len(listed) < total}


EDGE_TEXT_MAX = 10_000
"""The edge's cap on text fields whose exact limit the use cases check with messages of their own."""


def rendered(renditions: Renditions | None, key: Hashable, source: S, make: Callable[[S], R]) -> R:
    """``make(source)``, made once for a kept answer: kept by the process's renditions with the
    very ``source`` it was made of (a use case hands out the same answer object while its data is
    unchanged). What is made must never be changed afterwards: every request of that answer
    shares it."""
    if renditions is None:
        return make(source)
    kept: R | None = renditions.get(key, source)
    if kept is None:
        kept = make(source)
        renditions.put(key, source, kept)
    return kept
