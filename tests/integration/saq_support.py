"""A reaction for the job-engine tests, importable by the test and by a worker it starts in a
subprocess: it notes each start in a file (an external effect, at least once) and writes an audit
entry (a database effect, exactly once); ``hang`` makes it block after noting its start, so the
test can kill the worker mid-job."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from sono.adapters.clock import SystemClock
from sono.application.bus import Context
from sono.application.common import audit
from sono.application.events import reacts_to
from sono.domain.events import Event
from sono.domain.gdpr import AuditEvent


@dataclass(frozen=True, slots=True)
class Ticked(Event):
    text: str


class Ticks:
    def __init__(self, notes: Path, *, hang: bool = False) -> None:
        self._notes = notes
        self._hang = hang

    @reacts_to(Ticked)
    async def note(self, event: Ticked, ctx: Context) -> None:
        with self._notes.open("a") as notes:
            notes.write(f"{'hang' if self._hang else 'run'} {event.text}\n")
        await audit(ctx.uow, SystemClock(), AuditEvent.ADMIN_ACTION, action=f"tick:{event.text}")
        if self._hang:
            await asyncio.Event().wait()  # killed here, before its unit of work commits
