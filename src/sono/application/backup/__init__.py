"""Backing up and restoring an embedded deployment (SQLite, media on local disk, generated secrets)."""

from sono.application.backup.ports import BackupFiles, DatabaseBackup
from sono.application.backup.service import BackupReport, BackupService, RestoreReport

__all__ = ["BackupFiles", "BackupReport", "BackupService", "DatabaseBackup", "RestoreReport"]
