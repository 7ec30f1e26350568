"""The maintenance state, in memory."""

from __future__ import annotations

from dataclasses import asdict, fields

from sono.domain.maintenance import MaintenanceState
from tests.fakes.repositories.base import FakeRepository, MaintenanceRow, repository


@repository("maintenance")
class FakeMaintenanceRepository(FakeRepository):
    async def get(self) -> MaintenanceState:
        row = self.db.maintenance.get(1)
        if row is None:
            return MaintenanceState()
        return MaintenanceState(**{f.name: getattr(row, f.name) for f in fields(MaintenanceState)})

    async def set(self, state: MaintenanceState) -> None:
        row = self.session.get(self.db.maintenance, 1)
        if row is None:
            self.session.insert(self.db.maintenance, MaintenanceRow(**asdict(state)))
        else:
            for name, value in asdict(state).items():
                setattr(row, name, value)
