"""Who may fetch a stored object and through which URL, and storing new objects safely.

The rules: public keys (``is_public_key``) get stable unsigned URLs and are served to anyone;
every other key gets a signed URL that expires, and the media route serves it only with a valid
signature. Signed URLs expire at the end of a whole interval (``url_bucket_seconds``) at least
``url_ttl_seconds`` away, so the same object keeps the same URL for a while and clients and proxies
can cache it.

New objects are staged: their key is recorded (``pending_objects``) before the bytes are written,
and the unit of work that commits the row pointing at them forgets the record. A failure removes
the object at once; a crash in between leaves a record that ``PurgeOrphanedObjects`` clears later.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from typing import BinaryIO

from sono.application.common import delete_objects
from sono.application.events import Outbox
from sono.application.media.messages import MediaAccess
from sono.application.media.ports import (
    ImageCache,
    MediaInspector,
    ObjectChunks,
    ObjectInfo,
    ObjectStorage,
    SignedUrlCache,
    UrlSigner,
)
from sono.application.ports import Clock
from sono.application.uow import UnitOfWork
from sono.domain.errors import NotFound, PermissionDenied
from sono.domain.events import ObjectsReleased
from sono.domain.media import AudioInfo, AudioTags, ProcessedImage, is_public_key

MEDIA_NOT_FOUND = "Media not found"
BAD_SIGNATURE = "Invalid or expired media link"
DEFAULT_URL_TTL_SECONDS = 12 * 3600


class MediaService:
    def __init__(
        self,
        storage: ObjectStorage,
        signer: UrlSigner,
        inspector: MediaInspector,
        clock: Clock,
        outbox: Outbox,
        *,
        url_ttl_seconds: int = DEFAULT_URL_TTL_SECONDS,
        url_bucket_seconds: int = 3600,
        image_cache: ImageCache | None = None,
        url_cache: SignedUrlCache | None = None,
    ) -> None:
        self._storage = storage
        self._signer = signer
        self._inspector = inspector
        self._clock = clock
        self._outbox = outbox
        self._ttl = url_ttl_seconds
        self._bucket = max(1, url_bucket_seconds)
        self._image_cache = image_cache
        self._url_cache = url_cache

    # ------------------------------------------------------------------ URLs

    async def url(self, key: str | None) -> str | None:
        """The URL a client fetches ``key`` at (None for no key)."""
        if not key:
            return None
        if is_public_key(key):
            return await self._storage.public_url(key)
        expires = self.expiry()
        if self._url_cache is None:
            return await self._storage.signed_url(key, expires)
        url = self._url_cache.get(key, expires)
        if url is None:
            url = await self._storage.signed_url(key, expires)
            self._url_cache.put(key, expires, url)
        return url

    async def urls(self, keys: Iterable[str | None]) -> dict[str, str]:
        """The URLs of several keys by key (no keys left out: each is found once), so that a
        response can be shaped afterwards without awaiting per item."""
        found: dict[str, str] = {}
        for key in keys:
            if key and key not in found:
                found[key] = await self.url(key)  # type: ignore[assignment]  # a key has a URL
        return found

    def expiry(self) -> int:
        """Unix time at which URLs signed now expire."""
        earliest = self._clock.now().timestamp() + self._ttl
        return math.ceil(earliest / self._bucket) * self._bucket

    # ------------------------------------------------------------------ serving (the media route)

    async def authorize(self, key: str, *, expires: str | None, signature: str | None) -> MediaAccess:
        """The object behind a media URL, if the URL lets the caller have it: public keys always,
        private ones with a valid, unexpired signature (else ``PermissionDenied``)."""
        public = is_public_key(key)
        if not public and not self._signer.verify(key, expires, signature, self._clock.now().timestamp()):
            raise PermissionDenied(BAD_SIGNATURE)
        try:
            info = await self._storage.head(key)
        except (NotFound, ValueError):  # ValueError: a key the storage refuses (e.g. "..")
            raise NotFound(MEDIA_NOT_FOUND) from None
        return MediaAccess(info, public)

    async def info(self, key: str) -> ObjectInfo:
        """An object a use case let the caller have (size, type, ETag); ``NotFound`` when its
        bytes are gone."""
        try:
            return await self._storage.head(key)
        except NotFound:
            raise NotFound(MEDIA_NOT_FOUND) from None

    async def open(self, key: str, start: int = 0, end: int | None = None) -> ObjectChunks:
        """The bytes of an object ``authorize`` (or a use case) let the caller have."""
        try:
            return await self._storage.open(key, start, end)
        except NotFound:
            raise NotFound(MEDIA_NOT_FOUND) from None

    async def resized(self, info: ObjectInfo, max_side: int) -> ProcessedImage:
        """A stored image (``info`` of an object a use case let the caller have) fit into a square
        of ``max_side``, from the cache when it was resized before (keyed by the object's ETag:
        a new image is a new object)."""
        key = f"{info.etag}:{max_side}"
        if self._image_cache is not None:
            cached = await self._image_cache.get(key)
            if cached is not None:
                return cached
        stored = await self.open(info.key)
        data = io.BytesIO()
        async for chunk in stored.chunks:
            data.write(chunk)
        data.seek(0)
        image = await self._inspector.resize_image(data, max_side)
        if self._image_cache is not None:
            await self._image_cache.put(key, image)
        return image

    # ------------------------------------------------------------------ storing

    async def record_pending(self, uow: UnitOfWork, keys: Sequence[str]) -> None:
        """In a process's staging step (its own unit of work, committed before the objects are
        written): record ``keys`` as pending."""
        now = self._clock.now()
        for key in keys:
            await uow.pending_objects.add(key, now)

    async def delete(self, keys: Sequence[str]) -> None:
        """Remove objects whose row was never committed (a process's undo, before it forgets their
        pending records in a step of its own)."""
        await delete_objects(self._storage, keys)

    async def settle(self, uow: UnitOfWork, keys: Sequence[str]) -> None:
        """In the unit of work that commits the rows pointing at ``keys``: they are no orphans."""
        await uow.pending_objects.forget(keys)

    async def release(self, uow: UnitOfWork, keys: Sequence[str]) -> None:
        """In the unit of work that deletes (or replaces) the rows pointing at ``keys``: the objects
        are to be removed once it commits (``ObjectsReleased``, in the outbox of that same commit;
        ``MediaReactions`` removes them, retrying while the storage fails)."""
        if keys:
            await self._outbox.publish(uow, ObjectsReleased(tuple(dict.fromkeys(keys))))

    async def put_image(self, key: str, image: ProcessedImage) -> None:
        await self._storage.put_bytes(key, image.data, image.content_type)

    async def put_file(self, key: str, data: BinaryIO, content_type: str) -> int:
        return (await self._storage.put(key, data, content_type)).size

    async def process_image(self, data: BinaryIO) -> ProcessedImage:
        return await self._inspector.process_image(data)

    async def inspect_audio(self, path: str) -> AudioInfo:
        """The audio file's format and stream, decided from its content (``UnsupportedMedia``)."""
        return await self._inspector.inspect_audio(path)

    async def read_tags(self, path: str) -> AudioTags:
        return await self._inspector.read_tags(path)
