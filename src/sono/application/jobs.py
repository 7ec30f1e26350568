"""Periodic work: due deletions, and purging what has expired or was left behind. One message,
``RunDueJobs``, that the job engines (``sono worker``, the loop of ``sono serve``, ``sono jobs
run-due``) send as ``Actor.worker()``; each job is a step through the bus."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from sono.application.accounts.messages import PurgeExpiredSessions
from sono.application.audit.messages import PurgeExpiredAuditEntries
from sono.application.bus import ProcessContext, handles
from sono.application.gdpr.messages import RunDueDeletions
from sono.application.media.messages import PurgeOrphanedObjects
from sono.application.messages import Audience, Process
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


@dataclass(frozen=True, slots=True)
class RunDueJobs(Process[JobReport]):
    """Run everything that is due now, one message through the bus per transaction. Idempotent and
    safe to run on several machines at once: deletions are claimed under row locks, purges are
    plain conditional deletes."""

    audience: ClassVar[Audience] = Audience.ADMIN


class JobHandlers:
    def __init__(self, clock: Clock, temporary_files: TemporaryFiles | None = None) -> None:
        self._clock = clock
        self._temporary_files = temporary_files

    @handles(RunDueJobs)
    async def run_due(self, process: RunDueJobs, ctx: ProcessContext) -> JobReport:
        executed = await ctx.send(RunDueDeletions())
        now = self._clock.now()
        resets, sessions = await ctx.send(PurgeExpiredSessions())
        orphans = await ctx.send(PurgeOrphanedObjects())
        spools = await self._temporary_files.purge_older_than(now - SPOOL_MAX_AGE) if self._temporary_files else 0
        audit = await ctx.send(PurgeExpiredAuditEntries())
        return JobReport(executed, resets, sessions, orphans, spools, audit)
