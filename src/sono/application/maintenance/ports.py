"""Where the maintenance state lives."""

from __future__ import annotations

from typing import Protocol

from sono.domain.maintenance import MaintenanceState


class MaintenanceRepository(Protocol):
    """The durable maintenance state (one row): the truth."""

    async def get(self) -> MaintenanceState: ...
    async def set(self, state: MaintenanceState) -> None: ...


class MaintenanceStore(Protocol):
    """Fast, shared view of the maintenance state, read on every request: the database is the
    truth, any cache in front of it may only delay a change by about a second, never override it."""

    async def get(self) -> MaintenanceState: ...
    async def set(self, state: MaintenanceState) -> None: ...
    def remember(self, state: MaintenanceState) -> None:
        """A state this process committed through a unit of work: serve it from now on."""
        ...
