"""Files written whole or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
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
