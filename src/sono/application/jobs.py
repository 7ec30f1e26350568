"""Periodic work: due deletions, and purging what has expired or was left behind."""

from __future__ import annotations

from dataclasses import dataclass

from sono.application.gdpr.service import GdprService
from sono.application.media.service import MediaService
from sono.application.ports import Clock
from sono.application.uow import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class JobReport:
    deletions_executed: int
    reset_tokens_purged: int
    sessions_purged: int
    orphaned_objects_purged: int


class JobRunner:
    """Runs everything that is due now. Idempotent and safe to run on several machines at once:
    deletions are claimed under row locks, purges are plain conditional deletes."""

    def __init__(self, uow: UnitOfWorkFactory, gdpr: GdprService, media: MediaService, clock: Clock) -> None:
        self._uow = uow
        self._gdpr = gdpr
        self._media = media
        self._clock = clock

    async def run_due(self) -> JobReport:
        executed = await self._gdpr.execute_due()
        now = self._clock.now()
        async with self._uow() as uow:
            resets = await uow.reset_tokens.delete_expired(now)
            sessions = await uow.families.delete_expired(now)
            await uow.commit()
        orphans = await self._media.purge_orphans()
        return JobReport(executed, resets, sessions, orphans)
