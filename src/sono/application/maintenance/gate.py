"""The maintenance check every entrypoint makes on every request: one cached read of the store, no
unit of work (so it is not a bus message)."""

from __future__ import annotations

from sono.application.maintenance.ports import MaintenanceStore
from sono.domain.errors import MaintenanceActive
from sono.domain.maintenance import MaintenanceState


class MaintenanceGate:
    def __init__(self, store: MaintenanceStore) -> None:
        self._store = store

    async def status(self) -> MaintenanceState:
        return await self._store.get()

    async def enforce(self, *, is_admin: bool) -> None:
        """Raise ``MaintenanceActive`` unless the state admits the caller."""
        state = await self._store.get()
        if not state.admits(is_admin=is_admin):
            raise MaintenanceActive(state.message)
