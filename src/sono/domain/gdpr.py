"""Consents, deletion requests and the audit log."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

DELETION_GRACE_PERIOD = timedelta(days=7)
CONSENT_TYPE_MAX = 50
CONSENT_VERSION_MAX = 20
DELETION_REASON_MAX = 500
IP_ADDRESS_MAX = 45


class DeletionType(enum.StrEnum):
    SOFT = "soft"
    HARD = "hard"


class DeletionStatus(enum.StrEnum):
    PENDING = "pending"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


@dataclass(eq=False)
class Consent:
    user_id: int
    consent_type: str
    consent_version: str
    given_at: datetime
    ip_address: str | None = None
    withdrawn_at: datetime | None = None
    id: int | None = None

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None


@dataclass(eq=False)
class DeletionRequest:
    user_id: int
    deletion_type: DeletionType
    requested_at: datetime
    scheduled_for: datetime
    reason: str | None = None
    status: DeletionStatus = DeletionStatus.PENDING
    cancelled_at: datetime | None = None
    executed_at: datetime | None = None
    id: int | None = None

    @property
    def is_pending(self) -> bool:
        return self.status == DeletionStatus.PENDING

    def is_due(self, now: datetime) -> bool:
        return self.is_pending and now >= self.scheduled_for

    def days_remaining(self, now: datetime) -> float:
        """Days until the deletion runs (never negative), to two decimals."""
        return round(max(0.0, (self.scheduled_for - now).total_seconds() / 86400), 2)

    def cancel(self, now: datetime) -> None:
        self.status = DeletionStatus.CANCELLED
        self.cancelled_at = now

    def complete(self, now: datetime) -> None:
        self.status = DeletionStatus.COMPLETED
        self.executed_at = now


class AuditEvent(enum.StrEnum):
    REGISTER = "user.register"
    LOGIN_SUCCESS = "auth.login.success"
    LOGIN_FAILURE = "auth.login.failure"
    TOKEN_REFRESH = "auth.token.refresh"
    TOKEN_REUSE = "auth.token.reuse_detected"
    LOGOUT = "auth.logout"
    PASSWORD_RESET_REQUESTED = "auth.password_reset.requested"
    PASSWORD_RESET_DONE = "auth.password_reset.done"
    PROFILE_UPDATED = "user.profile.updated"
    DELETION_REQUESTED = "gdpr.deletion.requested"
    DELETION_CANCELLED = "gdpr.deletion.cancelled"
    DELETION_EXECUTED = "gdpr.deletion.executed"
    DATA_EXPORTED = "gdpr.data.exported"
    CONSENT_GIVEN = "gdpr.consent.given"
    AUDIO_UPLOADED = "audio.uploaded"
    AUDIO_UPDATED = "audio.updated"
    AUDIO_DELETED = "audio.deleted"
    COLLECTION_CREATED = "collection.created"
    COLLECTION_UPDATED = "collection.updated"
    COLLECTION_DELETED = "collection.deleted"
    MAINTENANCE_CHANGED = "admin.maintenance.changed"
    ADMIN_ACTION = "admin.action"


FAILED_EVENTS = frozenset({AuditEvent.LOGIN_FAILURE.value, AuditEvent.TOKEN_REUSE.value})


@dataclass(eq=False)
class AuditEntry:
    event: str
    created_at: datetime
    user_id: int | None = None
    actor_id: int | None = None
    ip_address: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    @property
    def resource_type(self) -> str:
        """What the event is about: ``user``, ``auth``, ``gdpr``, ``audio``, ``collection``, ``admin``."""
        return self.event.split(".", 1)[0]

    @property
    def success(self) -> bool:
        return self.event not in FAILED_EVENTS


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which audit entries an auditor asks for: a specification that the in-memory fake evaluates
    (``matches``) and the SQL adapter compiles from the same fields. Every field left ``None``
    matches everything.

    ``action`` is an event name (``auth.login.failure``), a prefix ending with ``*``
    (``auth.*``), or an admin action recorded in the entry's details (``disable``);
    ``user_id`` is the user the entry is about; ``since`` is inclusive, ``until`` exclusive."""

    actor_id: int | None = None
    user_id: int | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @property
    def event_prefix(self) -> str | None:
        """The prefix an ``action`` ending with ``*`` asks for."""
        return self.action[:-1] if self.action is not None and self.action.endswith("*") else None

    def matches(self, entry: AuditEntry) -> bool:
        if self.actor_id is not None and entry.actor_id != self.actor_id:
            return False
        if self.user_id is not None and entry.user_id != self.user_id:
            return False
        if self.since is not None and entry.created_at < self.since:
            return False
        if self.until is not None and entry.created_at >= self.until:
            return False
        if self.action is None:
            return True
        prefix = self.event_prefix
        if prefix is not None:
            return entry.event.startswith(prefix)
        return entry.event == self.action or entry.details.get("action") == self.action


AUDIT_ACTION_MAX = 64
