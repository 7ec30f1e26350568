"""The maintenance state (one row)."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import select

from sono.adapters.sqlalchemy.repositories.base import SqlRepository, repository
from sono.adapters.sqlalchemy.tables.maintenance import maintenance_state
from sono.domain.maintenance import MaintenanceState


@repository("maintenance")
class SqlMaintenanceRepository(SqlRepository):
    """The single row ``id = 1`` of ``maintenance_state``; no row means the default state."""

    async def get(self) -> MaintenanceState:
        row = (await self.session.execute(select(maintenance_state).where(maintenance_state.c.id == 1))).first()
        if row is None:
            return MaintenanceState()
        return MaintenanceState(
            enabled=row.enabled, message=row.message, updated_at=row.updated_at, updated_by_id=row.updated_by_id
        )

    async def set(self, state: MaintenanceState) -> None:
        values = asdict(state)
        upsert = self._insert_statement(maintenance_state).values(id=1, **values)
        await self.session.execute(upsert.on_conflict_do_update(index_elements=[maintenance_state.c.id], set_=values))
