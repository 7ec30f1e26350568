"""Objects being stored whose rows are not committed yet, in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter

from tests.fakes.repositories.base import FakeRepository, fake_table, repository


@dataclass
class PendingObject:
    key: str
    created_at: datetime


fake_table("pending_objects", "pending_objects", key="key")


@repository("pending_objects")
class FakePendingObjectRepository(FakeRepository):
    async def add(self, key: str, created_at: datetime) -> None:
        if key not in self.db.pending_objects:
            self.session.insert(self.db.pending_objects, PendingObject(key, created_at))

    async def forget(self, keys: Sequence[str]) -> None:
        wanted = set(keys)
        self.session.delete_where(self.db.pending_objects, lambda pending: pending.key in wanted)

    async def older_than(self, cutoff: datetime, limit: int) -> list[str]:
        old = [pending for pending in self.db.pending_objects.values() if pending.created_at < cutoff]
        return [pending.key for pending in sorted(old, key=attrgetter("created_at", "key"))[:limit]]
