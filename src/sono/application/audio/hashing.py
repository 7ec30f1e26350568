"""The content hash of an upload (SHA-256, hex), taken in the pass that already reads its bytes."""

from __future__ import annotations

import hashlib
from typing import BinaryIO


class HashingReader:
    """Reads through to ``source`` and hashes what passes: handed to the storage in place of the
    upload, the storage's own read of the bytes is the pass that hashes them (no second read)."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self._hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self._source.read(size)
        self._hash.update(chunk)
        return chunk

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
