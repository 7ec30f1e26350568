"""Backup and restore of an embedded deployment, while it serves.

A backup is consistent for what the database references: the media and secrets are copied once,
the database is snapshotted (SQLite's online backup), and then the files that appeared or changed
meanwhile are copied too, so every object the snapshot names and that still exists is in the
backup (an object deleted meanwhile may remain as an orphan, which the periodic jobs remove after
a restore). ``manifest.json`` is written last: a folder without it is not a backup."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sono.application.backup.ports import BackupFiles, DatabaseBackup, FileState
from sono.application.ports import Clock
from sono.domain.backup import (
    DATABASE_NAME,
    MANIFEST_NAME,
    TREES,
    BackupEntry,
    BackupInvalid,
    BackupRefused,
    Manifest,
    verify,
)


@dataclass(frozen=True)
class BackupReport:
    folder: Path
    manifest: Manifest

    @property
    def files(self) -> int:
        return len(self.manifest.entries)

    @property
    def bytes(self) -> int:
        return sum(entry.size for entry in self.manifest.entries)


@dataclass(frozen=True)
class RestoreReport:
    manifest: Manifest
    overwrote: bool


class BackupService:
    def __init__(
        self, database: DatabaseBackup, files: BackupFiles, clock: Clock, *, data_dir: Path, version: str
    ) -> None:
        self._database = database
        self._files = files
        self._clock = clock
        self._data_dir = data_dir
        self._version = version

    async def create(self, folder: Path) -> BackupReport:
        """Back up into ``folder`` (created; refused when it holds anything)."""
        await self._files.prepare_empty_folder(folder)
        copied: dict[str, dict[str, FileState]] = {}
        for tree in TREES:
            copied[tree] = await self._files.copy_tree(self._data_dir / tree, folder / tree, {})
        await self._database.snapshot_to(folder / DATABASE_NAME)
        for tree in TREES:  # what appeared or changed while the first pass and the snapshot ran
            copied[tree] |= await self._files.copy_tree(self._data_dir / tree, folder / tree, copied[tree])
        paths = [DATABASE_NAME, *(f"{tree}/{path}" for tree in TREES for path in sorted(copied[tree]))]
        entries = []
        for path in paths:
            found = await self._files.checksum(folder / path)
            if found is None:
                raise BackupInvalid(f"{path} vanished from the backup folder while it was written")
            entries.append(BackupEntry(path, *found))
        manifest = Manifest(sono_version=self._version, created_at=self._clock.now(), entries=tuple(entries))
        await self._files.write_text(folder / MANIFEST_NAME, manifest.to_json())
        return BackupReport(folder, manifest)

    async def verify(self, folder: Path) -> Manifest:
        """The backup's manifest once every file it lists is found intact; raises ``BackupInvalid``."""
        text = await self._files.read_text(folder / MANIFEST_NAME)
        if text is None:
            raise BackupInvalid(f"{folder} is not a backup: it has no {MANIFEST_NAME}")
        manifest = Manifest.from_json(text)
        found = {entry.path: await self._files.checksum(folder / entry.path) for entry in manifest.entries}
        problems = verify(manifest, found)
        if problems:
            shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
            raise BackupInvalid(f"the backup is damaged: {shown}")
        return manifest

    async def restore(self, folder: Path, *, force: bool = False) -> RestoreReport:
        """Verify the backup, then replace the database, media and secrets with it. Refused when
        the deployment already holds data, unless ``force``."""
        manifest = await self.verify(folder)
        in_use = await self._database.has_data() or any(
            [await self._files.has_files(self._data_dir / tree) for tree in TREES]
        )
        if in_use and not force:
            raise BackupRefused(
                f"{self._data_dir} already holds a database, media or secrets; restoring would overwrite them"
                " (stop the server and pass --force to do it anyway)"
            )
        await self._database.restore_from(folder / DATABASE_NAME)
        for tree in TREES:
            prefix = f"{tree}/"
            paths = [entry.path.removeprefix(prefix) for entry in manifest.entries if entry.path.startswith(prefix)]
            await self._files.replace_tree(folder / tree, self._data_dir / tree, paths)
        return RestoreReport(manifest, overwrote=in_use)
