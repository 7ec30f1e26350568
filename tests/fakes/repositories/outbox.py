"""The outbox of domain events, in memory."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime

from sono.application.events import OutboxEntry, OutboxStats
from tests.fakes.repositories.base import FakeRepository, fake_table, repository

fake_table("outbox", "outbox")


@repository("outbox")
class FakeOutboxRepository(FakeRepository):
    async def add(self, entries: Sequence[OutboxEntry]) -> None:
        for entry in entries:
            self.session.insert(self.db.outbox, copy.deepcopy(entry))

    async def claim(self, now: datetime, lease_until: datetime, limit: int) -> list[OutboxEntry]:
        due = [
            entry
            for entry in self.db.outbox.values()
            if entry.failed_at is None
            and entry.due_at <= now
            and (entry.leased_until is None or entry.leased_until <= now)
        ]
        due.sort(key=lambda entry: (entry.due_at, entry.id or 0))
        claimed = []
        for entry in due[:limit]:
            self.session.touch(self.db.outbox, entry)
            entry.leased_until = lease_until
            claimed.append(copy.deepcopy(entry))
        return claimed

    def _leased(self, entry_id: int, lease: datetime) -> OutboxEntry | None:
        entry = self.session.get(self.db.outbox, entry_id)
        return entry if entry is not None and entry.leased_until == lease else None

    async def complete(self, entry_id: int, lease: datetime) -> bool:
        entry = self._leased(entry_id, lease)
        if entry is None:
            return False
        self.session.delete(self.db.outbox, entry)
        return True

    async def retry(self, entry_id: int, lease: datetime, due_at: datetime, error: str) -> bool:
        entry = self._leased(entry_id, lease)
        if entry is None:
            return False
        entry.attempts += 1
        entry.due_at = due_at
        entry.leased_until = None
        entry.last_error = error
        return True

    async def fail(self, entry_id: int, lease: datetime, now: datetime, error: str) -> bool:
        entry = self._leased(entry_id, lease)
        if entry is None:
            return False
        entry.attempts += 1
        entry.leased_until = None
        entry.last_error = error
        entry.failed_at = now
        return True

    async def failed(self, limit: int) -> list[OutboxEntry]:
        rows = [entry for entry in self.db.outbox.values() if entry.failed_at is not None]
        rows.sort(key=lambda entry: (entry.failed_at, entry.id or 0))
        return [copy.deepcopy(entry) for entry in rows[:limit]]

    async def requeue(self, ids: Sequence[int] | None, now: datetime) -> int:
        wanted = None if ids is None else set(ids)
        return self.session.update(
            self.db.outbox,
            lambda entry: entry.failed_at is not None and (wanted is None or entry.id in wanted),
            failed_at=None,
            attempts=0,
            due_at=now,
            leased_until=None,
        )

    async def stats(self) -> OutboxStats:
        rows = list(self.db.outbox.values())
        queued = [entry for entry in rows if entry.failed_at is None]
        return OutboxStats(
            queued=len(queued),
            failed=len(rows) - len(queued),
            oldest_due_at=min((entry.due_at for entry in queued), default=None),
        )
