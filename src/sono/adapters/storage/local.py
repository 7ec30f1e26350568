"""``ObjectStorage`` on the local file system, served by the API's media route.

Layout under ``root``: each object is the file ``root/<key>``; its metadata (content type, size)
is the JSON sidecar ``root/.meta/<key>.json``. Keys never have segments starting with a dot, so
neither the sidecars nor the temporary files (``.<name>.<random>.tmp`` beside their target)
can collide with an object. Writes go to a temporary file that is fsynced and then atomically
renamed over the target, so readers see the old object or the new one, never a partial file; a
whole file already on the store's file system (an upload spooled under the data directory) is
fsynced and hard-linked into place the same way instead of being copied. All file I/O runs in
worker threads, in chunks.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO
from urllib.parse import urlencode

from sono.adapters.files import atomic_write
from sono.adapters.storage import CHUNK_SIZE, InvalidKey, guess_content_type, resolve_range, validate_key
from sono.adapters.storage.signing import media_url
from sono.application.media.ports import ObjectChunks, ObjectInfo, StoredObject, UrlSigner
from sono.domain.errors import NotFound, ServiceUnavailable
from sono.domain.media import is_public_key

FILE_MODE = 0o640
META_DIR = ".meta"


class LocalStorage:
    """Objects as files under ``root``; URLs point at ``{base_url}{media_path}/{key}``.

    ``base_url`` is the API's public origin (e.g. ``https://sono.example``; empty for relative
    URLs). ``signer`` signs private URLs (see ``sono.adapters.storage.signing``).
    """

    def __init__(
        self,
        root: Path,
        base_url: str,
        signer: UrlSigner,
        media_path: str = "/api/v1/media",
        *,
        chunk_size: int = CHUNK_SIZE,
        fsync: bool = True,
    ) -> None:
        self.root = Path(root)
        self.base_url = base_url.rstrip("/")
        self.media_path = "/" + media_path.strip("/") if media_path.strip("/") else ""
        self._signer = signer
        self._chunk_size = chunk_size
        self._fsync = fsync

    # ------------------------------------------------------------------ paths

    def path(self, key: str) -> Path:
        """The file holding ``key`` (validated)."""
        return self.root.joinpath(*validate_key(key).split("/"))

    def _meta_path(self, key: str) -> Path:
        parts = validate_key(key).split("/")
        return self.root.joinpath(META_DIR, *parts[:-1], parts[-1] + ".json")

    # ------------------------------------------------------------------ writing

    def _link(self, key: str, source: BinaryIO) -> int | None:
        """Put a whole regular file that lives on the store's file system (an upload spooled
        under the data directory) into place by linking it, without copying its bytes; its data
        is fsynced first, and the caller must not write to it afterwards. None when ``source`` is
        not such a file (then it is copied)."""
        try:
            descriptor, name, position = source.fileno(), source.name, source.tell()
        except (AttributeError, OSError, ValueError):  # not a file on disk (io.UnsupportedOperation is an OSError)
            return None
        target = self.path(key)
        try:
            stat = os.fstat(descriptor)
            if not isinstance(name, str) or position != 0 or not S_ISREG(stat.st_mode):
                return None
            target.parent.mkdir(parents=True, exist_ok=True)
            if os.stat(name).st_ino != stat.st_ino or os.stat(target.parent).st_dev != stat.st_dev:
                return None
            if self._fsync:
                os.fsync(descriptor)
            temp = target.parent / f".{target.name}.{secrets.token_hex(8)}.tmp"
            os.link(name, temp)
        except OSError:
            return None
        try:
            os.chmod(temp, FILE_MODE)
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        return stat.st_size

    def _store(self, key: str, source: BinaryIO | bytes, content_type: str) -> StoredObject:
        def copy(out: BinaryIO) -> int:
            if isinstance(source, bytes | bytearray | memoryview):
                out.write(source)
                return len(source)
            size = 0
            while chunk := source.read(self._chunk_size):
                out.write(chunk)
                size += len(chunk)
            return size

        linked = None if isinstance(source, bytes | bytearray | memoryview) else self._link(key, source)
        size = linked if linked is not None else atomic_write(self.path(key), copy, mode=FILE_MODE, fsync=self._fsync)
        meta = json.dumps({"content_type": content_type, "size": size}).encode()
        atomic_write(self._meta_path(key), lambda out: out.write(meta), mode=FILE_MODE, fsync=self._fsync)
        return StoredObject(key=key, size=size, content_type=content_type)

    async def put(self, key: str, data: BinaryIO, content_type: str) -> StoredObject:
        """Store what remains of ``data`` (read in chunks in a worker thread)."""
        validate_key(key)
        return await asyncio.to_thread(self._store, key, data, content_type)

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> StoredObject:
        validate_key(key)
        return await asyncio.to_thread(self._store, key, data, content_type)

    # ------------------------------------------------------------------ reading

    def _content_type(self, key: str) -> str:
        try:
            meta = json.loads(self._meta_path(key).read_bytes())
            content_type = meta["content_type"]
        except (OSError, ValueError, KeyError, TypeError):
            return guess_content_type(key)
        return content_type if isinstance(content_type, str) and content_type else guess_content_type(key)

    def _served_path(self, key: str) -> Path:
        """The file of ``key`` if no symbolic link leads to it (``NotFound`` otherwise): what is
        served is always a file of the store itself."""
        path = self.path(key)
        inside = os.path.join(os.path.realpath(self.root), *key.split("/"))
        if os.path.realpath(path) != inside:
            raise NotFound()
        return path

    def _open(self, key: str, start: int, end: int | None) -> tuple[BinaryIO, int, int, int, str]:
        try:
            descriptor = os.open(self._served_path(key), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:  # missing, a directory, or a link (ELOOP)
            raise NotFound() from None
        file = os.fdopen(descriptor, "rb")
        try:
            stat = os.fstat(file.fileno())
            if not S_ISREG(stat.st_mode):
                raise NotFound()
            total = stat.st_size
            first, last = resolve_range(total, start, end)
            file.seek(first)
            return file, total, first, last, self._content_type(key)
        except BaseException:
            file.close()
            raise

    async def _file_chunks(self, file: BinaryIO, length: int) -> AsyncIterator[bytes]:
        try:
            remaining = length
            while remaining > 0:
                chunk = await asyncio.to_thread(file.read, min(self._chunk_size, remaining))
                if not chunk:  # the file shrank under us; stop rather than hang
                    break
                remaining -= len(chunk)
                yield chunk
        finally:
            file.close()

    async def open(self, key: str, start: int = 0, end: int | None = None) -> ObjectChunks:
        """Stream ``key``'s bytes ``start..end`` (inclusive). Raises ``NotFound``."""
        validate_key(key)
        file, total, first, last, content_type = await asyncio.to_thread(self._open, key, start, end)
        return ObjectChunks(
            chunks=self._file_chunks(file, last - first + 1),
            content_type=content_type,
            total_size=total,
            start=first,
            end=last,
        )

    def _head(self, key: str) -> ObjectInfo:
        try:
            stat = os.lstat(self._served_path(key))
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound() from None
        if not S_ISREG(stat.st_mode):
            raise NotFound()
        tag = hashlib.sha256(f"{key}\n{stat.st_size}\n{stat.st_mtime_ns}".encode("utf-8", "surrogatepass"))
        return ObjectInfo(key, stat.st_size, self._content_type(key), f'"{tag.hexdigest()[:32]}"')

    async def head(self, key: str) -> ObjectInfo:
        """Size, content type and an ETag (from the key, size and modification time). Raises
        ``NotFound``."""
        validate_key(key)
        return await asyncio.to_thread(self._head, key)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).is_file)

    # ------------------------------------------------------------------ deleting

    def _delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            self.path(key).unlink(missing_ok=True)
            self._meta_path(key).unlink(missing_ok=True)

    async def delete(self, key: str) -> None:
        """Idempotent."""
        validate_key(key)
        await asyncio.to_thread(self._delete, [key])

    async def delete_many(self, keys: Sequence[str]) -> None:
        """Idempotent; every key is validated before anything is deleted."""
        for key in keys:
            validate_key(key)
        if keys:
            await asyncio.to_thread(self._delete, list(keys))

    # ------------------------------------------------------------------ URLs

    async def public_url(self, key: str) -> str:
        """The stable URL of a public object. Any other key is refused: whether an object may be
        served without a signature is the key's to say, not the caller's."""
        if not is_public_key(validate_key(key)):
            raise InvalidKey("Not a public object")
        return media_url(f"{self.base_url}{self.media_path}", key)

    async def signed_url(self, key: str, expires_at: int) -> str:
        """The URL of ``key`` signed until the unix time ``expires_at``."""
        validate_key(key)
        query = urlencode({"expires": int(expires_at), "signature": self._signer.sign(key, int(expires_at))})
        return f"{media_url(f'{self.base_url}{self.media_path}', key)}?{query}"

    # ------------------------------------------------------------------ readiness

    def _check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-", suffix=".tmp") as probe:
            probe.write(b"ok")
            probe.flush()

    async def check(self) -> None:
        """Raise ``ServiceUnavailable`` unless ``root`` exists (or can be created) and is writable."""
        try:
            await asyncio.to_thread(self._check)
        except OSError as exc:
            raise ServiceUnavailable("Storage unavailable") from exc
