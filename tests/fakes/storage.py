"""In-memory ``ObjectStorage`` for unit tests, with the real adapters' behaviour."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import BinaryIO
from urllib.parse import quote

from sono.adapters.storage import CHUNK_SIZE, InvalidKey, bytes_chunks, resolve_range, validate_key
from sono.application.media.ports import ObjectChunks, ObjectInfo, StoredObject
from sono.domain.errors import NotFound, ServiceUnavailable
from sono.domain.media import is_public_key


class InMemoryStorage:
    """Objects in a dict. Same key rules, ranges (including ``RangeNotSatisfiable``) and
    ``NotFound`` as the real adapters; URLs are ``memory://media/<key>``, signed ones with
    ``?expires=<unix>``. Set ``available = False`` to make ``check()`` fail."""

    def __init__(self, base_url: str = "memory://media", *, chunk_size: int = CHUNK_SIZE) -> None:
        self.base_url = base_url.rstrip("/")
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.available = True
        self._chunk_size = chunk_size

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

    async def head(self, key: str) -> ObjectInfo:
        validate_key(key)
        if key not in self.objects:
            raise NotFound()
        data, content_type = self.objects[key]
        return ObjectInfo(key, len(data), content_type, f'"{hashlib.sha256(data).hexdigest()[:32]}"')

    async def public_url(self, key: str) -> str:
        if not is_public_key(validate_key(key)):
            raise InvalidKey("Not a public object")
        return f"{self.base_url}/{quote(key, safe='/')}"

    async def signed_url(self, key: str, expires_at: int) -> str:
        validate_key(key)
        return f"{self.base_url}/{quote(key, safe='/')}?expires={int(expires_at)}"

    async def check(self) -> None:
        if not self.available:
            raise ServiceUnavailable("Storage unavailable")

    def read(self, key: str) -> bytes:
        """Test helper: the stored bytes of ``key`` (KeyError when absent)."""
        return self.objects[key][0]
