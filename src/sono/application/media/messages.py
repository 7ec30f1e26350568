"""What the media feature's steps ask of the core (sent by the processes that store objects)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sono.application.messages import Audience, Command


@dataclass(frozen=True, slots=True)
class ForgetPendingObjects(Command[None]):
    """Forget the pending records of objects a failed process removed (the undo of its staging
    step, once the objects are deleted; a record left behind is cleared by the jobs)."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    keys: tuple[str, ...]
