"""Periodic work: due deletions, and purging what has expired or was left behind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sono.application.accounts.messages import PurgeExpiredSessions
from sono.application.audit.messages import PurgeExpiredAuditEntries
from sono.application.bus import MessageBus
from sono.application.gdpr.service import GdprService
from sono.application.media.service import MediaService
from sono.application.messages import Actor
from sono.application.ports import Clock, TemporaryFiles


@dataclass(frozen=True, slots=True)
class JobReport:
    deletions_executed: int
    reset_tokens_purged: int
    sessions_purged: int
    orphaned_objects_purged: int
    spool_files_purged: int = 0
    audit_entries_purged: int = 0


SPOOL_MAX_AGE = timedelta(hours=1)
"""A spooled upload not written to for this long belongs to no live request (a request receives
its body, or is timed out, well within it)."""


class JobRunner:
    """Runs everything that is due now, one message through the bus per transaction. Idempotent and
    safe to run on several machines at once: deletions are claimed under row locks, purges are
    plain conditional deletes."""

    def __init__(
        self,
        gdpr: GdprService,
        media: MediaService,
        clock: Clock,
        bus: MessageBus,
        temporary_files: TemporaryFiles | None = None,
    ) -> None:
        self._gdpr = gdpr
        self._media = media
        self._clock = clock
        self._temporary_files = temporary_files
        self._bus = bus

    async def run_due(self) -> JobReport:
        executed = await self._gdpr.execute_due()
        now = self._clock.now()
        resets, sessions = await self._bus(PurgeExpiredSessions(), Actor.worker())
        orphans = await self._media.purge_orphans()
        spools = await self._temporary_files.purge_older_than(now - SPOOL_MAX_AGE) if self._temporary_files else 0
        audit = await self._bus(PurgeExpiredAuditEntries(), Actor.worker())
        return JobReport(executed, resets, sessions, orphans, spools, audit)
