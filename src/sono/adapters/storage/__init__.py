"""Object storage adapters and the rules they share (keys, byte ranges, content types).

``LocalStorage`` (files under a directory, served by the API's signed media route) lives in
``sono.adapters.storage.local``; ``S3Storage`` (any S3-compatible service, via aioboto3) in
``sono.adapters.storage.s3``. Both are importable from here too; the import is lazy so that using
one does not load the other's dependencies.

Ranges: ``open(key, start, end)`` takes an inclusive byte range. ``end=None`` means "to the end";
an ``end`` past the last byte is clamped (as HTTP does). A negative ``start`` with ``end=None``
asks for the last ``-start`` bytes (an HTTP suffix range, ``bytes=-500``). A range that starts at
or beyond the end of a non-empty object raises ``RangeNotSatisfiable`` (HTTP 416), which carries
the object's size for the ``Content-Range: bytes */<size>`` header.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from sono.application.media.ports import RangeNotSatisfiable
from sono.domain.errors import BadRequest

if TYPE_CHECKING:
    from sono.adapters.storage.local import LocalStorage
    from sono.adapters.storage.s3 import S3Storage

__all__ = [
    "CHUNK_SIZE",
    "MAX_KEY_LENGTH",
    "InvalidKey",
    "LocalStorage",
    "RangeNotSatisfiable",
    "S3Storage",
    "bytes_chunks",
    "guess_content_type",
    "range_header",
    "resolve_range",
    "validate_key",
]

CHUNK_SIZE = 256 * 1024
"""Size of the chunks objects are read and streamed in."""

MAX_KEY_LENGTH = 1024  # S3's limit, in UTF-8 bytes

DEFAULT_CONTENT_TYPE = "application/octet-stream"

_CONTENT_TYPES = {  # Sono's own media first: mimetypes varies across platforms for these
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "ogg": "audio/ogg",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "webm": "audio/webm",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}


class InvalidKey(BadRequest, ValueError):
    """A storage key that could escape the store or is not portable across backends."""

    detail = "Invalid storage key"


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative key such as ``audio/12/<uuid>.mp3``.

    Refused: empty keys, keys over 1024 bytes, absolute paths, backslashes, NUL and other control
    characters, empty segments (``a//b``, a trailing ``/``) and segments starting with a dot
    (``.``, ``..`` and hidden names, which ``LocalStorage`` reserves for its own files).
    """
    if not isinstance(key, str) or not key or len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_LENGTH:
        raise InvalidKey()
    if _UNSAFE_KEY.search(key):
        raise InvalidKey()
    return key


_UNSAFE_KEY = re.compile(r"[\\\x00-\x1f\x7f]|(?:^|/)(?:\.|/|$)")
"""A backslash, a control character, or a segment that is empty or starts with a dot."""


def resolve_range(total_size: int, start: int = 0, end: int | None = None) -> tuple[int, int]:
    """The inclusive ``(first, last)`` byte positions of ``start..end`` in an object of
    ``total_size`` bytes; ``(0, -1)`` for an empty object. See the module docstring."""
    if start < 0:
        if end is not None:
            raise BadRequest("A suffix range has no end")
        return max(0, total_size + start), total_size - 1
    if end is not None and end < start:
        raise BadRequest("Range end is before its start")
    if total_size == 0 and start == 0:
        return 0, -1
    if start >= total_size:
        raise RangeNotSatisfiable(total_size)
    last = total_size - 1 if end is None else min(end, total_size - 1)
    return start, last


def range_header(start: int, end: int | None) -> str | None:
    """The HTTP ``Range`` header value for ``start..end``; None for the whole object."""
    if start < 0:
        resolve_range(0, start, end)  # validates
        return f"bytes={start}"
    if end is not None and end < start:
        raise BadRequest("Range end is before its start")
    if start == 0 and end is None:
        return None
    return f"bytes={start}-{'' if end is None else end}"


def guess_content_type(key: str) -> str:
    """Content type from the key's extension (the fallback when none was recorded)."""
    extension = key.rsplit("/", 1)[-1].rpartition(".")[2].lower()
    if extension in _CONTENT_TYPES:
        return _CONTENT_TYPES[extension]
    return mimetypes.guess_type(key, strict=False)[0] or DEFAULT_CONTENT_TYPE


async def bytes_chunks(data: bytes, first: int, last: int, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
    """Stream ``data[first:last + 1]`` in chunks of at most ``chunk_size`` bytes."""
    view = memoryview(data)
    for offset in range(first, last + 1, chunk_size):
        yield bytes(view[offset : min(offset + chunk_size, last + 1)])


def __getattr__(name: str) -> Any:
    if name == "LocalStorage":
        from sono.adapters.storage.local import LocalStorage

        return LocalStorage
    if name == "S3Storage":
        from sono.adapters.storage.s3 import S3Storage

        return S3Storage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
