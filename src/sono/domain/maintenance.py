"""Maintenance mode: while it is on, only administrators are served."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

DEFAULT_MESSAGE = "Service temporarily unavailable for maintenance"
MESSAGE_MAX = 200
RETRY_AFTER_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class MaintenanceState:
    enabled: bool = False
    message: str = DEFAULT_MESSAGE
    updated_at: datetime | None = None
    updated_by_id: int | None = None

    def admits(self, *, is_admin: bool) -> bool:
        """The rule of maintenance mode, in its one place."""
        return not self.enabled or is_admin
