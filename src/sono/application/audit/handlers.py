"""Reading the audit log, and keeping it no longer than its retention period."""

from __future__ import annotations

from datetime import timedelta

from sono.application.audit.messages import PurgeExpiredAuditEntries, ReadAuditLog
from sono.application.bus import Context, handles
from sono.application.ports import Clock
from sono.application.values import Page, Problems
from sono.domain.gdpr import AUDIT_ACTION_MAX, AuditEntry

TIME_RANGE_REVERSED = "Must be later than `since`"
ACTION_TOO_LONG = f"Must be at most {AUDIT_ACTION_MAX} characters"


class AuditHandlers:
    def __init__(self, clock: Clock, *, retention: timedelta | None) -> None:
        """``retention`` None keeps entries forever."""
        self._clock = clock
        self._retention = retention

    @handles(ReadAuditLog)
    async def read(self, query: ReadAuditLog, ctx: Context) -> Page[AuditEntry]:
        spec = query.spec
        problems = Problems()
        if spec.action is not None and len(spec.action) > AUDIT_ACTION_MAX:
            problems.check("action", [ACTION_TOO_LONG])
        if spec.since is not None and spec.until is not None and spec.until <= spec.since:
            problems.check("until", [TIME_RANGE_REVERSED])
        problems.raise_if_any()
        return await ctx.uow.audit.search(spec, skip=query.skip, limit=query.limit)

    @handles(PurgeExpiredAuditEntries)
    async def purge(self, command: PurgeExpiredAuditEntries, ctx: Context) -> int:
        if self._retention is None:
            return 0
        return await ctx.uow.audit.delete_older_than(self._clock.now() - self._retention)
