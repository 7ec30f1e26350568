"""The backup ports on local disk: ``SqliteDatabaseBackup`` (SQLite's online backup API, which
copies a consistent database page by page while other connections keep writing) and
``LocalBackupFiles`` (regular files only, never through a link, written whole or not at all)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import sqlite3
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

from sono.adapters.files import atomic_write
from sono.adapters.sqlalchemy.versions import EVERYTHING, FileVersions
from sono.application.backup.ports import FileState
from sono.domain.backup import BackupInvalid, BackupRefused

# The online backup in one step: one read transaction, which writers do not wait for under WAL,
# and which their writes cannot restart (a step-by-step copy starts over after each of them).
PAGES_PER_STEP = -1
CHUNK = 1024 * 1024


def sqlite_path(database_url: str) -> Path | None:
    """The file of a ``sqlite[+driver]:///path`` URL, ``None`` for anything else (or in-memory)."""
    scheme, sep, rest = database_url.partition(":///")
    if not sep or scheme.split("+", 1)[0] != "sqlite":
        return None
    path = rest.split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def _copy_database(source: Path, target: Path) -> None:
    with (
        contextlib.closing(sqlite3.connect(source, timeout=30)) as src,
        contextlib.closing(sqlite3.connect(target, timeout=30)) as dst,
    ):
        src.backup(dst, pages=PAGES_PER_STEP)
        (result,) = dst.execute("PRAGMA quick_check").fetchone()
    if result != "ok":
        raise BackupInvalid(f"the database copy failed its integrity check: {result}")


class SqliteDatabaseBackup:
    def __init__(self, path: Path) -> None:
        self.path = path

    async def snapshot_to(self, target: Path) -> None:
        if not self.path.is_file():
            raise BackupRefused(f"there is no database at {self.path} to back up")
        await asyncio.to_thread(self._snapshot, target)

    def _snapshot(self, target: Path) -> None:
        partial = target.with_name(f".{target.name}.partial")
        partial.unlink(missing_ok=True)
        try:
            _copy_database(self.path, partial)
            os.chmod(partial, 0o600)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)

    async def restore_from(self, source: Path) -> None:
        def restore() -> None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Through the backup API into the database file itself: connections open on it see the
            # old content or the new, and its WAL and journal stay consistent with it.
            _copy_database(source, self.path)
            os.chmod(self.path, 0o600)
            FileVersions(Path(f"{self.path}-versions")).committed(EVERYTHING)  # running servers drop what they keep

        await asyncio.to_thread(restore)

    async def has_data(self) -> bool:
        def check() -> bool:
            try:
                if self.path.stat().st_size == 0:
                    return False
            except FileNotFoundError:
                return False
            with contextlib.closing(sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True, timeout=30)) as db:
                return db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0

        return await asyncio.to_thread(check)


def _is_temporary(name: str) -> bool:
    """The files a writer has not finished (``.<name>.<random>.tmp``, see the local storage)."""
    return name.startswith(".") and name.endswith((".tmp", ".partial"))


def _walk(root: Path) -> list[tuple[str, os.stat_result]]:
    """Every regular file under ``root`` (links neither followed nor listed), by relative path."""
    found: list[tuple[str, os.stat_result]] = []
    pending = [(root, "")]
    while pending:
        folder, prefix = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            try:
                status = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(status.st_mode):
                pending.append((Path(entry.path), f"{prefix}{entry.name}/"))
            elif stat.S_ISREG(status.st_mode) and not _is_temporary(entry.name):
                found.append((f"{prefix}{entry.name}", status))
    return found


def _sha256(path: Path) -> tuple[int, str] | None:
    digest, size = hashlib.sha256(), 0
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:  # a link (O_NOFOLLOW) or worse: not a file the backup holds
        return None
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            return None
        while chunk := file.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


class LocalBackupFiles:
    async def prepare_empty_folder(self, folder: Path) -> None:
        def prepare() -> None:
            if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
                raise BackupRefused(f"{folder} exists and is not an empty folder: back up into a new one")
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(folder, 0o700)  # it holds the secrets

        await asyncio.to_thread(prepare)

    async def copy_tree(self, source: Path, target: Path, unchanged: Mapping[str, FileState]) -> dict[str, FileState]:
        def copy() -> dict[str, FileState]:
            copied: dict[str, FileState] = {}
            for relative, status in _walk(source):
                state = (status.st_size, status.st_mtime_ns)
                if unchanged.get(relative) == state:
                    continue
                destination = target / relative
                destination.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                try:
                    shutil.copyfile(source / relative, destination, follow_symlinks=False)
                except FileNotFoundError:  # deleted since it was listed
                    continue
                os.chmod(destination, 0o600)
                copied[relative] = state
            return copied

        return await asyncio.to_thread(copy)

    async def has_files(self, folder: Path) -> bool:
        return bool(await asyncio.to_thread(_walk, folder))

    async def checksum(self, path: Path) -> tuple[int, str] | None:
        return await asyncio.to_thread(_sha256, path)

    async def write_text(self, path: Path, text: str) -> None:
        await asyncio.to_thread(atomic_write, path, lambda out: out.write(text.encode()), mode=0o600, fsync=True)

    async def read_text(self, path: Path) -> str | None:
        def read() -> str | None:
            try:
                return path.read_text(encoding="utf-8")
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                return None
            except UnicodeDecodeError:
                raise BackupInvalid(f"{path.name} is not text") from None

        return await asyncio.to_thread(read)

    async def replace_tree(self, source: Path, target: Path, paths: Sequence[str]) -> None:
        def replace() -> None:
            staging = target.with_name(f".{target.name}.restoring")
            old = target.with_name(f".{target.name}.replaced")
            for leftover in (staging, old):
                shutil.rmtree(leftover, ignore_errors=True)
            staging.mkdir(parents=True, mode=0o700)
            for relative in paths:
                destination = staging / relative
                destination.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                shutil.copyfile(source / relative, destination, follow_symlinks=False)
                os.chmod(destination, 0o600)
            if target.exists() or target.is_symlink():
                os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)

        await asyncio.to_thread(replace)
