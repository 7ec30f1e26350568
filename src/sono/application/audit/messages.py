"""What may be asked of the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sono.application.messages import Audience, Command, Query
from sono.application.values import Page
from sono.domain.gdpr import AuditEntry, AuditFilter


@dataclass(frozen=True, slots=True)
class ReadAuditLog(Query[Page[AuditEntry]]):
    """The entries ``spec`` matches, newest first."""

    audience: ClassVar[Audience] = Audience.ADMIN
    spec: AuditFilter
    skip: int = 0
    limit: int = 100


@dataclass(frozen=True, slots=True)
class PurgeExpiredAuditEntries(Command[int]):
    """Remove the entries older than the retention period (none when it is 0: kept forever)."""

    audience: ClassVar[Audience] = Audience.ADMIN
