"""What entrypoints may ask of maintenance mode."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sono.application.messages import Audience, Command, Query
from sono.domain.maintenance import MaintenanceState


@dataclass(frozen=True, slots=True)
class GetMaintenance(Query[MaintenanceState]):
    """Whether maintenance is on, and its message (public: that is how clients learn it ended)."""


@dataclass(frozen=True, slots=True)
class SetMaintenance(Command[MaintenanceState]):
    """Switch maintenance on or off. Switching on without a message uses the default one; switching
    off resets the message to the default. Audited, naming the admin (none from the command line)."""

    audience: ClassVar[Audience] = Audience.ADMIN
    enabled: bool
    message: str | None = None
