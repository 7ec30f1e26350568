"""What the media feature answers: serving stored objects (the media route, and the bytes of an
object a use case let the caller have), and the steps of the processes that store objects and of
the periodic jobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from sono.application.media.ports import ObjectChunks, ObjectInfo
from sono.application.messages import Audience, Command, Process, Query
from sono.domain.media import ProcessedImage

ORPHAN_AGE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class MediaAccess:
    """An object the caller may fetch, and whether it is public (cacheable by anyone)."""

    info: ObjectInfo
    public: bool


# ---------------------------------------------------------------------- serving


@dataclass(frozen=True, slots=True)
class AuthorizeMedia(Query[MediaAccess]):
    """The object behind a media URL, if the URL lets the caller have it: public keys always,
    private ones with a valid, unexpired signature (else ``PermissionDenied``); ``NotFound`` when
    there is no such object. Answered by the storage alone (no unit of work)."""

    unit_of_work: ClassVar[bool] = False
    key: str
    expires: str | None = None
    signature: str | None = None


@dataclass(frozen=True, slots=True)
class GetMediaInfo(Query[ObjectInfo]):
    """Size, type and ETag of an object whose key a use case gave the caller (a collection's
    cover, a profile picture); ``NotFound`` when its bytes are gone."""

    unit_of_work: ClassVar[bool] = False
    key: str


@dataclass(frozen=True, slots=True)
class OpenMedia(Query[ObjectChunks]):
    """The bytes of an object (``start`` to ``end`` inclusive; a negative ``start``: the last
    bytes) that a use case let the caller have: ``info`` is what that use case answered
    (``AuthorizeMedia``, ``DownloadAudio``, ``GetCoverArt``...). ``RangeNotSatisfiable`` past its
    end, ``NotFound`` when its bytes are gone."""

    unit_of_work: ClassVar[bool] = False
    info: ObjectInfo
    start: int = 0
    end: int | None = None


@dataclass(frozen=True, slots=True)
class ResizeImage(Query[ProcessedImage]):
    """A stored image a use case let the caller have (``info``) fit into a square of
    ``max_side``, from the cache when it was resized before (a new image is a new object)."""

    unit_of_work: ClassVar[bool] = False
    info: ObjectInfo
    max_side: int


# ---------------------------------------------------------------------- steps and jobs


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
