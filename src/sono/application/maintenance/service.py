"""Maintenance mode: switch it, read it, and enforce it (the one place every entrypoint asks)."""

from __future__ import annotations

from sono.application.common import Problems, audit
from sono.application.maintenance.ports import MaintenanceStore
from sono.application.ports import Clock
from sono.application.uow import UnitOfWorkFactory
from sono.domain.errors import MaintenanceActive
from sono.domain.gdpr import AuditEvent
from sono.domain.maintenance import DEFAULT_MESSAGE, MESSAGE_MAX, MaintenanceState


class MaintenanceService:
    def __init__(self, store: MaintenanceStore, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._store = store
        self._uow = uow
        self._clock = clock

    async def status(self) -> MaintenanceState:
        return await self._store.get()

    async def enforce(self, *, is_admin: bool) -> None:
        """Raise ``MaintenanceActive`` unless the state admits the caller."""
        state = await self._store.get()
        if not state.admits(is_admin=is_admin):
            raise MaintenanceActive(state.message)

    async def set(
        self, enabled: bool, message: str | None = None, *, actor_id: int | None = None, ip: str | None = None
    ) -> MaintenanceState:
        """Switch maintenance on or off. Switching on without a message uses the default one;
        switching off resets the message to the default. ``actor_id`` is None from the command line."""
        text = (message or "").strip()
        problems = Problems()
        if len(text) > MESSAGE_MAX:
            problems.check("message", [f"Message must be at most {MESSAGE_MAX} characters"])
        problems.raise_if_any()
        state = MaintenanceState(
            enabled=enabled,
            message=text if enabled and text else DEFAULT_MESSAGE,
            updated_at=self._clock.now(),
            updated_by_id=actor_id,
        )
        await self._store.set(state)
        async with self._uow() as uow:
            if actor_id is not None and actor_id not in await uow.users.hold([actor_id]):
                actor_id = None  # the admin's account was deleted meanwhile: the entry names no one
            await audit(
                uow,
                self._clock,
                AuditEvent.MAINTENANCE_CHANGED,
                actor_id=actor_id,
                ip=ip,
                enabled=enabled,
                via="api" if actor_id is not None else "cli",
            )
            await uow.commit()
        return state
