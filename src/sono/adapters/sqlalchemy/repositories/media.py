"""Objects being stored whose rows are not committed yet."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select

from sono.adapters.sqlalchemy.repositories.base import SqlRepository, repository
from sono.adapters.sqlalchemy.tables.media import pending_objects


@repository("pending_objects")
class SqlPendingObjectRepository(SqlRepository):
    async def add(self, key: str, created_at: datetime) -> None:
        insert = self._insert_statement(pending_objects).values(key=key, created_at=created_at)
        await self.session.execute(insert.on_conflict_do_nothing())

    async def forget(self, keys: Sequence[str]) -> None:
        if keys:
            await self.session.execute(delete(pending_objects).where(pending_objects.c.key.in_(list(keys))))

    async def older_than(self, cutoff: datetime, limit: int) -> list[str]:
        statement = (
            select(pending_objects.c.key)
            .where(pending_objects.c.created_at < cutoff)
            .order_by(pending_objects.c.created_at, pending_objects.c.key)
            .limit(limit)
        )
        return list(await self.session.scalars(statement))
