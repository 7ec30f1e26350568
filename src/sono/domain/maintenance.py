"""Maintenance mode."""

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
