"""In-memory ``ObjectStorage`` for unit tests, with the real adapters' behaviour."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import BinaryIO
from urllib.parse import quote

from sono.adapters.storage import CHUNK_SIZE, bytes_chunks, resolve_range, validate_key
from sono.application.ports import ObjectChunks, StoredObject
from sono.domain.errors import NotFound, ServiceUnavailable


class InMemoryStorage:
    """Objects in a dict. Same key rules, ranges (including ``RangeNotSatisfiable``) and
    ``NotFound`` as the real adapters; URLs are ``memory://media/<key>``, private ones with
    ``?expires=<unix>``. Set ``available = False`` to make ``check()`` fail."""

    def __init__(
        self, base_url: str = "memory://media", *, chunk_size: int = CHUNK_SIZE, clock: Callable[[], float] = time.time
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.available = True
        self._chunk_size = chunk_size
        self._clock = clock

    async def put(self, key: str, data: BinaryIO, content_type: str) -> StoredObject:
        validate_key(key)
        buffer = bytearray()
        while chunk := data.read(self._chunk_size):
            buffer += chunk
        return await self.put_bytes(key, bytes(buffer), content_type)

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> StoredObject:
        validate_key(key)
        self.objects[key] = (bytes(data), content_type)
        return StoredObject(key=key, size=len(data), content_type=content_type)

    async def open(self, key: str, start: int = 0, end: int | None = None) -> ObjectChunks:
        validate_key(key)
        if key not in self.objects:
            raise NotFound()
        data, content_type = self.objects[key]
        first, last = resolve_range(len(data), start, end)
        return ObjectChunks(
            chunks=bytes_chunks(data, first, last, self._chunk_size),
            content_type=content_type,
            total_size=len(data),
            start=first,
            end=last,
        )

    async def delete(self, key: str) -> None:
        validate_key(key)
        self.objects.pop(key, None)

    async def delete_many(self, keys: Sequence[str]) -> None:
        for key in keys:
            validate_key(key)
        for key in keys:
            self.objects.pop(key, None)

    async def exists(self, key: str) -> bool:
        validate_key(key)
        return key in self.objects

    async def url(self, key: str, *, public: bool, expires_in: int = 3600) -> str:
        validate_key(key)
        url = f"{self.base_url}/{quote(key, safe='/')}"
        return url if public else f"{url}?expires={int(self._clock()) + max(1, int(expires_in))}"

    async def check(self) -> None:
        if not self.available:
            raise ServiceUnavailable("Storage unavailable")

    def read(self, key: str) -> bytes:
        """Test helper: the stored bytes of ``key`` (KeyError when absent)."""
        return self.objects[key][0]
