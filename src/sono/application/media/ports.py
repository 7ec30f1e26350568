"""What media handling needs from the outside world."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol

from sono.domain.errors import BadRequest
from sono.domain.media import AudioInfo, AudioTags, ProcessedImage


class RangeNotSatisfiable(BadRequest):
    """The requested byte range starts beyond the object's end (HTTP 416): ``ObjectStorage.open``
    raises it, whatever the backend."""

    detail = "Requested range not satisfiable"

    def __init__(self, total_size: int) -> None:
        super().__init__()
        self.total_size = total_size


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int
    content_type: str


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """An object's metadata: enough to answer ``HEAD`` and conditional requests."""

    key: str
    size: int
    content_type: str
    etag: str  # a strong validator, quoted as HTTP writes it: ``"<opaque>"``


@dataclass(frozen=True, slots=True)
class ObjectChunks:
    """An object's bytes (possibly a range of them) as an async stream."""

    chunks: AsyncIterator[bytes]
    content_type: str
    total_size: int
    start: int
    end: int  # inclusive


class ObjectStorage(Protocol):
    async def put(self, key: str, data: BinaryIO, content_type: str) -> StoredObject:
        """Store from a readable binary file object (read in chunks, never whole)."""

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> StoredObject: ...
    async def head(self, key: str) -> ObjectInfo:
        """Raises ``NotFound`` when there is no such object."""

    async def open(self, key: str, start: int = 0, end: int | None = None) -> ObjectChunks:
        """Raises ``NotFound`` when there is no such object, ``RangeNotSatisfiable`` for a range
        that starts beyond its end."""

    async def delete(self, key: str) -> None:
        """Idempotent."""

    async def delete_many(self, keys: Sequence[str]) -> None: ...
    async def exists(self, key: str) -> bool: ...
    async def public_url(self, key: str) -> str:
        """A stable URL of a public object (``is_public_key``); refuses any other key."""

    async def signed_url(self, key: str, expires_at: int) -> str:
        """A URL that lets anyone fetch ``key`` until the unix time ``expires_at``."""

    async def check(self) -> None:
        """Raise if the backing store is unreachable (readiness)."""


class UrlSigner(Protocol):
    """Signatures of the API's own media URLs (local storage)."""

    def sign(self, key: str, expires_at: int) -> str: ...
    def verify(self, key: str, expires_at: str | None, signature: str | None, now: float) -> bool:
        """Never raises for malformed input; constant-time."""


class MediaInspector(Protocol):
    """Decides a file's type from its content. CPU-bound work runs off the event loop."""

    async def inspect_audio(self, path: str) -> AudioInfo:
        """Raises ``UnsupportedMedia(AUDIO_UNSUPPORTED)`` for anything but the allowed formats."""

    async def read_tags(self, path: str) -> AudioTags:
        """The descriptive tags and embedded picture of an audio file ``inspect_audio`` accepted;
        empty tags when there are none or they cannot be read."""

    async def process_image(self, data: BinaryIO) -> ProcessedImage:
        """Decode (refusing decompression bombs), bound the longest side, strip metadata and
        re-encode. Raises ``UnsupportedMedia(IMAGE_UNSUPPORTED)`` for anything else."""

    async def resize_image(self, data: BinaryIO, max_side: int) -> ProcessedImage:
        """``process_image`` with the longest side at most ``max_side`` (never enlarged, never
        beyond the stored maximum), in the same bounded pool of decoders."""


class PendingObjectRepository(Protocol):
    """Objects being stored whose row is not committed yet. A key is recorded (and committed)
    before its object is written and forgotten in the transaction that commits the row pointing at
    it, so a crash in between leaves a record that the jobs use to remove the orphan."""

    async def add(self, key: str, created_at: datetime) -> None: ...
    async def forget(self, keys: Sequence[str]) -> None: ...
    async def older_than(self, cutoff: datetime, limit: int) -> list[str]: ...


class ImageCache(Protocol):
    """Resized images kept for later requests (a player's album grid asks for the same covers
    again and again), bounded; what it drops is resized again."""

    async def get(self, key: str) -> ProcessedImage | None: ...
    async def put(self, key: str, image: ProcessedImage) -> None: ...


class SignedUrlCache(Protocol):
    """Signed URLs kept for later requests: a URL is the same for an object and an expiry (keys are
    never reused for other bytes), and lists sign dozens per request (a presigned S3 URL costs
    tens of microseconds). Bounded; what it drops is signed again. Nothing to invalidate."""

    def get(self, key: str, expires: int) -> str | None: ...
    def put(self, key: str, expires: int, url: str) -> None: ...
