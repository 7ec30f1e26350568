"""What other features need of GDPR outside the bus: ``execute_due`` (the worker's jobs and the
admins' ``ProcessPendingDeletions``) sends ``ExecuteDueDeletions`` until none is due, and
``eraser`` carries out a deletion inside a caller's unit of work (admins' deletions). Everything
else is a message of ``sono.application.gdpr.messages``, handled in ``handlers``."""

from __future__ import annotations

from sono.application.common import Send
from sono.application.gdpr.erasure import AccountEraser
from sono.application.gdpr.messages import ExecuteDueDeletions
from sono.application.messages import Actor
from sono.application.ports import Clock


class GdprService:
    def __init__(self, clock: Clock, send: Send) -> None:
        """``send``: the bus, to which ``execute_due`` hands its messages."""
        self._send = send
        self.eraser = AccountEraser(clock)

    async def execute_due(self, *, batch: int = 1) -> int:
        """Carry out every scheduled deletion whose grace period is over, each exactly once (one
        ``ExecuteDueDeletions`` after the other, until none is due)."""
        done = 0
        while executed := await self._send(ExecuteDueDeletions(batch), Actor.worker()):
            done += executed
        return done
