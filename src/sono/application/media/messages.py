"""What the media feature's steps ask of the core (sent by the processes that store objects)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from sono.application.messages import Audience, Command, Process, Query

ORPHAN_AGE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ForgetPendingObjects(Command[None]):
    """Forget the pending records of objects a failed process removed (the undo of its staging
    step, once the objects are deleted; a record left behind is cleared by the jobs)."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PurgeOrphanedObjects(Process[int]):
    """Remove objects staged more than ``ORPHAN_AGE`` ago whose row never came (a crash between
    storing and committing), ``batch`` at a time: how many. Safe to run anywhere, any number of
    times (a periodic job)."""

    audience: ClassVar[Audience] = Audience.ADMIN
    batch: int = 500


@dataclass(frozen=True, slots=True)
class OrphanedObjects(Query[list[str]]):
    """Up to ``limit`` keys staged before ``cutoff`` and still pending."""

    audience: ClassVar[Audience] = Audience.ADMIN
    cutoff: datetime
    limit: int
