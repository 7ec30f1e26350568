"""The outbox of domain events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update

from sono.adapters.sqlalchemy.repositories.base import SqlRepository, repository
from sono.adapters.sqlalchemy.tables.outbox import outbox
from sono.application.events import OutboxEntry, OutboxStats

_COLUMNS = (
    outbox.c.id,
    outbox.c.event,
    outbox.c.reaction,
    outbox.c.payload,
    outbox.c.due_at,
    outbox.c.created_at,
    outbox.c.attempts,
    outbox.c.leased_until,
    outbox.c.last_error,
    outbox.c.failed_at,
)


def _entry(row: Any) -> OutboxEntry:
    return OutboxEntry(
        id=row.id,
        event=row.event,
        reaction=row.reaction,
        payload=row.payload,
        due_at=row.due_at,
        created_at=row.created_at,
        attempts=row.attempts,
        leased_until=row.leased_until,
        last_error=row.last_error,
        failed_at=row.failed_at,
    )


@repository("outbox")
class SqlOutboxRepository(SqlRepository):
    async def add(self, entries: Sequence[OutboxEntry]) -> None:
        if entries:
            rows = [
                {
                    "event": e.event,
                    "reaction": e.reaction,
                    "payload": e.payload,
                    "attempts": e.attempts,
                    "due_at": e.due_at,
                    "created_at": e.created_at,
                }
                for e in entries
            ]
            await self.session.execute(insert(outbox), rows)

    async def claim(self, now: datetime, lease_until: datetime, limit: int) -> list[OutboxEntry]:
        # PostgreSQL: rows another claimer holds are skipped, not waited for; SQLite ignores the
        # clause and serialises the writing units of work instead.
        due = (
            select(outbox.c.id)
            .where(
                outbox.c.failed_at.is_(None),
                outbox.c.due_at <= now,
                or_(outbox.c.leased_until.is_(None), outbox.c.leased_until <= now),
            )
            .order_by(outbox.c.due_at, outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(await self.session.scalars(due))
        if not ids:
            return []
        await self.session.execute(update(outbox).where(outbox.c.id.in_(ids)).values(leased_until=lease_until))
        rows = await self.session.execute(select(*_COLUMNS).where(outbox.c.id.in_(ids)))
        return sorted((_entry(row) for row in rows), key=lambda e: (e.due_at, e.id or 0))

    @staticmethod
    def _leased(entry_id: int, lease: datetime) -> Any:
        return and_(outbox.c.id == entry_id, outbox.c.leased_until == lease)

    async def complete(self, entry_id: int, lease: datetime) -> bool:
        return await self._bulk(delete(outbox).where(self._leased(entry_id, lease))) > 0

    async def retry(self, entry_id: int, lease: datetime, due_at: datetime, error: str) -> bool:
        statement = (
            update(outbox)
            .where(self._leased(entry_id, lease))
            .values(attempts=outbox.c.attempts + 1, due_at=due_at, leased_until=None, last_error=error)
        )
        return await self._bulk(statement) > 0

    async def fail(self, entry_id: int, lease: datetime, now: datetime, error: str) -> bool:
        statement = (
            update(outbox)
            .where(self._leased(entry_id, lease))
            .values(attempts=outbox.c.attempts + 1, failed_at=now, leased_until=None, last_error=error)
        )
        return await self._bulk(statement) > 0

    async def failed(self, limit: int) -> list[OutboxEntry]:
        statement = (
            select(*_COLUMNS)
            .where(outbox.c.failed_at.is_not(None))
            .order_by(outbox.c.failed_at, outbox.c.id)
            .limit(limit)
        )
        return [_entry(row) for row in await self.session.execute(statement)]

    async def requeue(self, ids: Sequence[int] | None, now: datetime) -> int:
        statement = update(outbox).where(outbox.c.failed_at.is_not(None))
        if ids is not None:
            statement = statement.where(outbox.c.id.in_(list(ids)))
        return await self._bulk(statement.values(failed_at=None, attempts=0, due_at=now, leased_until=None))

    async def stats(self) -> OutboxStats:
        statement = select(
            func.count().filter(outbox.c.failed_at.is_(None)),
            func.count().filter(outbox.c.failed_at.is_not(None)),
            func.min(outbox.c.due_at).filter(outbox.c.failed_at.is_(None)),
        )
        queued, failed, oldest = (await self.session.execute(statement)).one()
        return OutboxStats(queued=queued or 0, failed=failed or 0, oldest_due_at=oldest)
