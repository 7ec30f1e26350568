"""``ObjectStorage`` on the local file system, served by the API's media route.

Layout under ``root``: each object is the file ``root/<key>``; its metadata (content type, size)
is the JSON sidecar ``root/.meta/<key>.json``. Keys never have segments starting with a dot, so
neither the sidecars nor the temporary files (``.<name>.<random>.tmp`` beside their target)
can collide with an object. Writes go to a temporary file that is fsynced and then atomically
renamed over the target, so readers see the old object or the new one, never a partial file.
All file I/O runs in worker threads, in chunks.

Symbolic links are never followed below ``root`` (``root`` itself may be one): every folder of a
key is opened relative to its parent with ``O_NOFOLLOW`` and the file itself too, so nothing
outside ``root`` can be read, written or deleted through a link. A link, or anything but a
regular file, reads as a missing object.

A whole file already on the store's file system (an upload spooled under the data directory) is
fsynced and hard-linked into place the same way, instead of being copied.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import json
import os
import secrets
import stat
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, TypeVar

from sono.adapters.storage import CHUNK_SIZE, InvalidKey, guess_content_type, resolve_range, validate_key
from sono.adapters.storage.signing import media_url
from sono.application.media.ports import ObjectChunks, ObjectInfo, StoredObject, UrlSigner
from sono.domain.errors import NotFound, ServiceUnavailable
from sono.domain.media import is_public_key

FILE_MODE = 0o640
STREAM_CHUNK_MAX = 1024 * 1024
"""The largest chunk a download is read and sent in: the memory one download holds at a time."""
META_DIR = ".meta"

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC  # NONBLOCK: a FIFO must not hang the open
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC
_MISSING = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EISDIR})  # ELOOP: a link where O_NOFOLLOW
_T = TypeVar("_T")


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
        self._media_base = f"{self.base_url}{self.media_path}"
        self._signer = signer
        self._chunk_size = chunk_size
        self._fsync = fsync

    # ------------------------------------------------------------------ paths

    def path(self, key: str) -> Path:
        """The file holding ``key`` (validated). For information: I/O goes through ``_folder``."""
        return self.root.joinpath(*validate_key(key).split("/"))

    def _parts(self, key: str) -> list[str]:
        return validate_key(key).split("/")

    def _meta_parts(self, key: str) -> list[str]:
        parts = self._parts(key)
        return [META_DIR, *parts[:-1], parts[-1] + ".json"]

    @contextlib.contextmanager
    def _folder(self, names: Sequence[str], *, create: bool = False) -> Iterator[int]:
        """A descriptor of the folder ``root/names...``, each component opened relative to the
        previous one without following links (made first when ``create``). Raises ``OSError``
        (errno in ``_MISSING`` when it is missing or a link)."""
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
        try:
            for name in names:
                if create:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(name, dir_fd=fd)
                child = os.open(name, _DIRECTORY, dir_fd=fd)
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)

    def _open_regular(self, parts: Sequence[str]) -> BinaryIO:
        """The regular file ``root/parts...`` opened for reading; ``NotFound`` for anything else
        (missing, a link anywhere below ``root``, a folder, a FIFO or device)."""
        try:
            with self._folder(parts[:-1]) as folder:
                fd = os.open(parts[-1], _READ, dir_fd=folder)
        except OSError as exc:
            if exc.errno in _MISSING:
                raise NotFound() from None
            raise
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise NotFound()
            os.set_blocking(fd, True)
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

    def _write(self, parts: Sequence[str], write: Callable[[BinaryIO], _T]) -> _T:
        """Write ``root/parts...`` through a temporary file renamed into place (within a folder
        opened without following links; a link at the target is replaced, not followed)."""
        with self._folder(parts[:-1], create=True) as folder:
            name = parts[-1]
            temp = f".{name}.{secrets.token_hex(8)}.tmp"
            fd = os.open(temp, _CREATE, FILE_MODE, dir_fd=folder)
            try:
                with os.fdopen(fd, "wb") as out:
                    result = write(out)
                    os.fchmod(out.fileno(), FILE_MODE)
                    if self._fsync:
                        out.flush()
                        os.fsync(out.fileno())
                os.replace(temp, name, src_dir_fd=folder, dst_dir_fd=folder)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp, dir_fd=folder)
                raise
        return result

    def _unlink(self, parts: Sequence[str]) -> None:
        """Remove ``root/parts...`` if it is there (a link is removed itself, never its target)."""
        try:
            with self._folder(parts[:-1]) as folder:
                os.unlink(parts[-1], dir_fd=folder)
        except OSError as exc:
            if exc.errno not in _MISSING:
                raise

    # ------------------------------------------------------------------ writing

    def _link(self, parts: Sequence[str], source: BinaryIO) -> int | None:
        """Put a whole regular file that lives on the store's file system (an upload spooled
        under the data directory) into place by linking it, without copying its bytes; its data
        is fsynced first, and the caller must not write to it afterwards. None when ``source`` is
        not such a file (then it is copied). The target folder is opened without following links,
        as for every write."""
        try:
            descriptor, name, position = source.fileno(), source.name, source.tell()
            status = os.fstat(descriptor)
            if not isinstance(name, str) or position != 0 or not stat.S_ISREG(status.st_mode):
                return None
            if os.stat(name).st_ino != status.st_ino:
                return None
        except (AttributeError, OSError, ValueError):  # not a file on disk (io.UnsupportedOperation is an OSError)
            return None
        with self._folder(parts[:-1], create=True) as folder:
            if os.fstat(folder).st_dev != status.st_dev:
                return None
            if self._fsync:
                os.fsync(descriptor)
            temp = f".{parts[-1]}.{secrets.token_hex(8)}.tmp"
            try:
                os.link(name, temp, dst_dir_fd=folder)
            except OSError:
                return None
            try:
                os.chmod(temp, FILE_MODE, dir_fd=folder)
                os.replace(temp, parts[-1], src_dir_fd=folder, dst_dir_fd=folder)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp, dir_fd=folder)
                raise
        return status.st_size

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

        linked = None if isinstance(source, bytes | bytearray | memoryview) else self._link(self._parts(key), source)
        size = linked if linked is not None else self._write(self._parts(key), copy)
        meta = json.dumps({"content_type": content_type, "size": size}).encode()
        self._write(self._meta_parts(key), lambda out: out.write(meta))
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
            with self._open_regular(self._meta_parts(key)) as sidecar:
                meta = json.loads(sidecar.read(64 * 1024))
            content_type = meta["content_type"]
        except (NotFound, OSError, ValueError, KeyError, TypeError):
            return guess_content_type(key)
        return content_type if isinstance(content_type, str) and content_type else guess_content_type(key)

    def _open(self, key: str, start: int, end: int | None) -> tuple[BinaryIO, int, int, int, str]:
        file = self._open_regular(self._parts(key))  # a regular file, reached through no link
        try:
            total = os.fstat(file.fileno()).st_size
            first, last = resolve_range(total, start, end)
            file.seek(first)
            return file, total, first, last, self._content_type(key)
        except BaseException:
            file.close()
            raise

    async def _file_chunks(self, file: BinaryIO, length: int) -> AsyncIterator[bytes]:
        """The bytes in chunks that start at the configured size (the first bytes go out soon,
        a short range costs one small read) and double up to ``STREAM_CHUNK_MAX`` (a long
        download takes few trips to a worker thread)."""
        try:
            remaining, size = length, self._chunk_size
            while remaining > 0:
                chunk = await asyncio.to_thread(file.read, min(size, remaining))
                if not chunk:  # the file shrank under us; stop rather than hang
                    break
                remaining -= len(chunk)
                size = min(size * 2, max(STREAM_CHUNK_MAX, self._chunk_size))
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
        with self._open_regular(self._parts(key)) as file:
            stat = os.fstat(file.fileno())
        tag = hashlib.sha256(f"{key}\n{stat.st_size}\n{stat.st_mtime_ns}".encode("utf-8", "surrogatepass"))
        return ObjectInfo(key, stat.st_size, self._content_type(key), f'"{tag.hexdigest()[:32]}"')

    async def head(self, key: str) -> ObjectInfo:
        """Size, content type and an ETag (from the key, size and modification time). Raises
        ``NotFound`` (also for links and anything but a regular file)."""
        validate_key(key)
        return await asyncio.to_thread(self._head, key)

    def _exists(self, key: str) -> bool:
        try:
            self._open_regular(self._parts(key)).close()
        except NotFound:
            return False
        return True

    async def exists(self, key: str) -> bool:
        validate_key(key)
        return await asyncio.to_thread(self._exists, key)

    # ------------------------------------------------------------------ deleting

    def _delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._unlink(self._parts(key))
            self._unlink(self._meta_parts(key))

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
        return media_url(self._media_base, key)

    async def signed_url(self, key: str, expires_at: int) -> str:
        """The URL of ``key`` signed until the unix time ``expires_at`` (the signature is hex)."""
        validate_key(key)
        expires = int(expires_at)
        return f"{media_url(self._media_base, key)}?expires={expires}&signature={self._signer.sign(key, expires)}"

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
