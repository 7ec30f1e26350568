"""Domain events: facts a use case recorded, whose side effects can wait (stored objects to delete,
mail to send, audio to analyse). They are frozen dataclasses of plain values (str, int, float, bool,
None, datetimes, and tuples of those), so that the outbox can store them as JSON; ``name()`` is the
stable name they are stored under."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every domain event. Subclasses may set ``event_name`` to keep a stored name when
    the class is renamed."""

    event_name: ClassVar[str | None] = None

    @classmethod
    def name(cls) -> str:
        return cls.event_name or cls.__name__


@dataclass(frozen=True, slots=True)
class ObjectsReleased(Event):
    """Stored objects that no row points at any more (their rows were deleted or replaced in the
    same commit): they are to be removed from storage."""

    keys: tuple[str, ...]
