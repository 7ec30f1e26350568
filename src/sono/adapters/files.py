"""Files written whole or not at all, and the folder uploads are spooled in."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import stat
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, TypeVar

_T = TypeVar("_T")


def atomic_write(target: Path, write: Callable[[BinaryIO], _T], *, mode: int, fsync: bool = False) -> _T:
    """Write ``target`` through a hidden temporary file in the same folder, then rename it into
    place: readers see the old file or the new one, never a part. Returns what ``write`` returns."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            result = write(out)
            if fsync:
                out.flush()
                os.fsync(out.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return result


class SpoolFolder:
    """``TemporaryFiles`` on a local folder (``$SONO_DATA_DIR/tmp``): only regular files directly
    in it are removed, never through a symbolic link, never a subfolder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    async def purge_older_than(self, cutoff: datetime) -> int:
        return await asyncio.to_thread(self._purge, cutoff.timestamp())

    def _purge(self, cutoff: float) -> int:
        removed = 0
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            return 0
        for entry in entries:
            try:
                status = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(status.st_mode) and status.st_mtime < cutoff and _unlink_unless_locked(entry.path):
                    removed += 1
            except FileNotFoundError:  # its request finished meanwhile, or another process took it
                continue
        return removed


def _unlink_unless_locked(path: str) -> bool:
    """Remove ``path`` unless a live request holds its lock: a request locks its spool file
    (``flock``) for as long as it uses it, so a stalled upload, however old its file looks, is
    left alone. The lock is taken before removing, so a request cannot take it in between."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        return False  # a link, or not ours to open: left alone
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live request's
        if os.stat(path, follow_symlinks=False).st_ino != os.fstat(descriptor).st_ino:
            return False  # replaced meanwhile
        os.unlink(path)
        return True
    finally:
        os.close(descriptor)
