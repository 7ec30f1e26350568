"""Maintenance mode: read it and switch it (through the bus). Enforcing it on every request is the
``MaintenanceGate``'s, a direct read of the cached store."""

from __future__ import annotations

from sono.application.bus import Context, handles
from sono.application.common import audit
from sono.application.maintenance.messages import GetMaintenance, SetMaintenance
from sono.application.maintenance.ports import MaintenanceStore
from sono.application.ports import Clock
from sono.application.values import Problems
from sono.domain.gdpr import AuditEvent
from sono.domain.maintenance import DEFAULT_MESSAGE, MESSAGE_MAX, MaintenanceState


class MaintenanceHandlers:
    def __init__(self, store: MaintenanceStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    @handles(GetMaintenance)
    async def status(self, query: GetMaintenance, ctx: Context) -> MaintenanceState:
        return await self._store.get()

    @handles(SetMaintenance)
    async def set(self, command: SetMaintenance, ctx: Context) -> MaintenanceState:
        text = (command.message or "").strip()
        problems = Problems()
        if len(text) > MESSAGE_MAX:
            problems.check("message", [f"Message must be at most {MESSAGE_MAX} characters"])
        problems.raise_if_any()
        actor_id = ctx.actor.user_id  # None from the command line
        state = MaintenanceState(
            enabled=command.enabled,
            message=text if command.enabled and text else DEFAULT_MESSAGE,
            updated_at=self._clock.now(),
            updated_by_id=actor_id,
        )
        # The state and its audit entry commit together; this process serves the new state at once.
        await ctx.uow.maintenance.set(state)
        await audit(
            ctx.uow,
            self._clock,
            AuditEvent.MAINTENANCE_CHANGED,
            actor_id=actor_id,
            enabled=command.enabled,
            via="api" if actor_id is not None else "cli",
        )

        async def remember() -> None:
            self._store.remember(state)

        ctx.after_commit(remember)
        return state
