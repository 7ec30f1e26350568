"""Maintenance mode: a shared switch that turns away everyone but admins."""

from __future__ import annotations

from sono.application.common import Principal, Problems, audit
from sono.application.ports import Clock, MaintenanceStore, UnitOfWorkFactory
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

    async def guard(self, *, is_admin: bool) -> None:
        """Raise ``MaintenanceActive`` when maintenance is on and the caller is not an admin."""
        if is_admin:
            return
        state = await self._store.get()
        if state.enabled:
            raise MaintenanceActive(state.message)

    async def set(
        self,
        enabled: bool,
        message: str | None = None,
        *,
        actor: Principal | None = None,
        loc: tuple[str, ...] = ("body", "message"),
        ip: str | None = None,
    ) -> MaintenanceState:
        """Switch maintenance on or off. Switching on without a message uses the default one;
        switching off resets the message to the default. ``actor`` is None from the command line."""
        text = (message or "").strip()
        problems = Problems()
        if len(text) > MESSAGE_MAX:
            problems.check(loc, [f"Message must be at most {MESSAGE_MAX} characters"])
        problems.raise_if_any()
        state = MaintenanceState(
            enabled=enabled,
            message=text if enabled and text else DEFAULT_MESSAGE,
            updated_at=self._clock.now(),
            updated_by_id=actor.user_id if actor else None,
        )
        await self._store.set(state)
        async with self._uow() as uow:
            await audit(
                uow,
                self._clock,
                AuditEvent.MAINTENANCE_CHANGED,
                actor_id=state.updated_by_id,
                ip=ip,
                enabled=enabled,
                via="api" if actor else "cli",
            )
            await uow.commit()
        return state
