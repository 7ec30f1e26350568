"""The maintenance state, in memory."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime

from sono.domain.maintenance import DEFAULT_MESSAGE, MaintenanceState
from tests.fakes.repositories.base import FakeRepository, fake_table, foreign_key, repository


@dataclass
class MaintenanceRow:
    """The ``maintenance_state`` row (``MaintenanceState`` is frozen)."""

    id: int = 1
    enabled: bool = False
    message: str = DEFAULT_MESSAGE
    updated_at: datetime | None = None
    updated_by_id: int | None = None


fake_table("maintenance", "maintenance_state")
foreign_key("maintenance", "updated_by_id", "users", "set null")


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
