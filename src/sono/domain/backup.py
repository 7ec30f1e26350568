"""What a backup of an embedded deployment is: a folder holding a snapshot of the SQLite database,
copies of the data folder's trees (media, secrets) and ``manifest.json``, written last, listing
every file with its size and SHA-256. The rules here are the only place that says what a valid
manifest is, which paths it may name, and what a restore must find."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from sono.domain.errors import SonoError

MANIFEST_FORMAT = 1
MANIFEST_NAME = "manifest.json"
DATABASE_NAME = "sono.db"
TREES = ("media", "secrets")  # the data folder's trees a backup holds, under the same names
_SHA256 = re.compile(r"[0-9a-f]{64}")


class BackupInvalid(SonoError):
    """The folder is not a complete, intact backup."""

    detail = "Not a valid backup"


class BackupRefused(SonoError):
    """The operation would overwrite something it must not."""

    detail = "Refused"


@dataclass(frozen=True)
class BackupEntry:
    path: str  # relative, with slashes: ``sono.db``, ``media/audio/1/x.mp3``
    size: int
    sha256: str


def check_path(path: str) -> str:
    """``path`` if a backup may hold it: relative, without ``..``, empty or hidden-from-nothing
    segments, and either the database or a file under one of ``TREES``. Raises ``BackupInvalid``."""
    pure = PurePosixPath(path)
    parts = path.split("/")
    if (
        not path
        or pure.is_absolute()
        or "\\" in path
        or "\x00" in path
        or any(part in ("", ".", "..") for part in parts)
        or not (path == DATABASE_NAME or (len(parts) > 1 and parts[0] in TREES))
    ):
        raise BackupInvalid(f"the manifest names a path a backup cannot hold: {path!r}")
    return path


@dataclass(frozen=True)
class Manifest:
    sono_version: str
    created_at: datetime
    entries: tuple[BackupEntry, ...]
    format: int = MANIFEST_FORMAT

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": self.format,
                "sono_version": self.sono_version,
                "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
                "database": DATABASE_NAME,
                "files": [{"path": e.path, "size": e.size, "sha256": e.sha256} for e in self.entries],
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse and validate; raises ``BackupInvalid`` naming what is wrong."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise TypeError("not an object")
            if data.get("format") != MANIFEST_FORMAT:
                raise BackupInvalid(
                    f"unknown manifest format {data.get('format')!r} (this version reads {MANIFEST_FORMAT})"
                )
            entries = []
            for item in data["files"]:
                size, digest = item["size"], item["sha256"]
                if type(size) is not int or size < 0 or not isinstance(digest, str) or not _SHA256.fullmatch(digest):
                    raise TypeError("bad size or checksum")
                entries.append(BackupEntry(check_path(str(item["path"])), size, digest))
            manifest = cls(
                sono_version=str(data["sono_version"]),
                created_at=datetime.fromisoformat(str(data["created_at"]).replace("Z", "+00:00")),
                entries=tuple(entries),
            )
        except BackupInvalid:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            raise BackupInvalid(f"{MANIFEST_NAME} is malformed ({type(exc).__name__})") from None
        if DATABASE_NAME not in {e.path for e in manifest.entries}:
            raise BackupInvalid(f"{MANIFEST_NAME} lists no database")
        if len({e.path for e in manifest.entries}) != len(manifest.entries):
            raise BackupInvalid(f"{MANIFEST_NAME} lists a file twice")
        return manifest


def verify(manifest: Manifest, found: Mapping[str, tuple[int, str] | None]) -> list[str]:
    """The problems between the manifest and what the backup folder holds (``found``: each listed
    path's size and SHA-256, or ``None`` when missing); empty when every file is intact."""
    problems = []
    for entry in manifest.entries:
        actual = found.get(entry.path)
        if actual is None:
            problems.append(f"{entry.path}: missing")
        elif actual != (entry.size, entry.sha256):
            problems.append(f"{entry.path}: checksum mismatch")
    return problems
