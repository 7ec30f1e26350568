"""Repositories of the GDPR feature: consents, deletion requests and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sono.application.values import Page
from sono.domain.gdpr import AuditEntry, AuditFilter, Consent, DeletionRequest


class ConsentRepository(Protocol):
    async def add(self, consent: Consent) -> Consent: ...
    async def list_for_user(self, user_id: int) -> list[Consent]:
        """Newest first."""

    async def active_of_type(self, user_id: int, consent_type: str) -> list[Consent]: ...


class DeletionRequestRepository(Protocol):
    async def add(self, request: DeletionRequest) -> DeletionRequest:
        """Raises ``Conflict`` when the user already has a pending request
        (a partial unique index guarantees one pending request per user)."""

    async def pending_for_user(self, user_id: int) -> DeletionRequest | None: ...
    async def list_for_user(self, user_id: int) -> list[DeletionRequest]:
        """Newest first."""

    async def claim_due(self, now: datetime, limit: int) -> list[DeletionRequest]:
        """Pending requests whose ``scheduled_for`` has passed, locked so that no other
        transaction claims them (``FOR UPDATE SKIP LOCKED`` on PostgreSQL)."""


class AuditLogRepository(Protocol):
    async def add(self, entry: AuditEntry) -> None: ...
    async def list_for_user(self, user_id: int) -> list[AuditEntry]:
        """Entries about or by the user, newest first."""

    async def search(self, spec: AuditFilter, *, skip: int, limit: int) -> Page[AuditEntry]:
        """The entries ``spec`` matches, newest first."""

    async def delete_older_than(self, cutoff: datetime) -> int:
        """Remove entries created before ``cutoff`` (the retention period); how many went."""

    async def anonymise_user(self, user_id: int) -> None:
        """Set ``user_id``/``actor_id`` to NULL and drop personal data (IP, details) of the user's
        entries, keeping the event and time."""
