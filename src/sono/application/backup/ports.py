"""What the backup use cases need from the outside world."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

FileState = tuple[int, int]  # size, modification time in nanoseconds: whether a file changed


class DatabaseBackup(Protocol):
    """The deployment's database, copied consistently while it is in use."""

    async def snapshot_to(self, target: Path) -> None:
        """Write a consistent copy of the whole database to ``target`` (a new file), while other
        processes keep reading and writing it."""

    async def restore_from(self, source: Path) -> None:
        """Replace the database's whole content with the snapshot at ``source``."""

    async def has_data(self) -> bool:
        """Whether the database exists and holds anything."""


class BackupFiles(Protocol):
    """Files on disk: the data folder's trees and the backup folder."""

    async def prepare_empty_folder(self, folder: Path) -> None:
        """Create ``folder``; raises ``BackupRefused`` when it exists and is not empty."""

    async def copy_tree(self, source: Path, target: Path, unchanged: Mapping[str, FileState]) -> dict[str, FileState]:
        """Copy every regular file under ``source`` (no links, no partly written temporary files)
        to the same relative path under ``target``, except those whose state is still the one in
        ``unchanged``. Returns the state of every file copied, by relative path with slashes."""

    async def has_files(self, folder: Path) -> bool: ...

    async def checksum(self, path: Path) -> tuple[int, str] | None:
        """Size and SHA-256 of a regular file, ``None`` when missing."""

    async def write_text(self, path: Path, text: str) -> None:
        """Write ``path`` whole or not at all."""

    async def read_text(self, path: Path) -> str | None: ...

    async def replace_tree(self, source: Path, target: Path, paths: Sequence[str]) -> None:
        """Make ``target`` hold exactly the files ``paths`` (relative, with slashes) of ``source``:
        built beside it, then swapped in."""
