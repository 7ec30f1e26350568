"""Consents, deletion requests and the audit log, in memory."""

from __future__ import annotations

from datetime import datetime
from operator import attrgetter
from typing import Any

from sono.application.values import Page
from sono.domain.gdpr import AuditEntry, AuditFilter, Consent, DeletionRequest
from tests.fakes.repositories.base import (
    FakeRepository,
    Unique,
    fake_table,
    foreign_key,
    newest,
    page,
    repository,
    single,
)

fake_table("consents", "consents")
fake_table(
    "deletions",
    "deletion_requests",
    unique=[Unique("uq_deletion_requests_pending", single(lambda r: r.user_id if r.is_pending else None))],
)
fake_table("audit", "audit_log")
foreign_key("consents", "user_id", "users")
foreign_key("deletions", "user_id", "users")
foreign_key("audit", "user_id", "users", "set null")
foreign_key("audit", "actor_id", "users", "set null")


@repository("consents")
class FakeConsentRepository(FakeRepository):
    async def add(self, consent: Consent) -> Consent:
        return self.session.insert(self.db.consents, consent)

    async def list_for_user(self, user_id: int) -> list[Consent]:
        return newest(self.session.select(self.db.consents, lambda c: c.user_id == user_id), "given_at")

    async def active_of_type(self, user_id: int, consent_type: str) -> list[Consent]:
        def active(consent: Consent) -> bool:
            return consent.user_id == user_id and consent.consent_type == consent_type and consent.is_active

        return newest(self.session.select(self.db.consents, active), "given_at")


@repository("deletions")
class FakeDeletionRequestRepository(FakeRepository):
    async def add(self, request: DeletionRequest) -> DeletionRequest:
        return self.session.insert(self.db.deletions, request)

    async def pending_for_user(self, user_id: int) -> DeletionRequest | None:
        return self.session.first(self.db.deletions, lambda r: r.user_id == user_id and r.is_pending)

    async def list_for_user(self, user_id: int) -> list[DeletionRequest]:
        return newest(self.session.select(self.db.deletions, lambda r: r.user_id == user_id), "requested_at")

    async def claim_due(self, now: datetime, limit: int) -> list[DeletionRequest]:
        due = self.session.select(self.db.deletions, lambda request: request.is_due(now))
        return sorted(due, key=attrgetter("scheduled_for", "id"))[:limit]


@repository("audit")
class FakeAuditLogRepository(FakeRepository):
    async def add(self, entry: AuditEntry) -> None:
        self.session.insert(self.db.audit, entry)

    async def list_for_user(self, user_id: int) -> list[AuditEntry]:
        def about_or_by(entry: AuditEntry) -> bool:
            return user_id in (entry.user_id, entry.actor_id)

        return newest(self.session.select(self.db.audit, about_or_by), "created_at")

    async def search(self, spec: AuditFilter, *, skip: int, limit: int) -> Page[AuditEntry]:
        return page(newest(self.session.select(self.db.audit, spec.matches), "created_at"), skip, limit)

    async def delete_older_than(self, cutoff: datetime) -> int:
        return len(self.session.delete_where(self.db.audit, lambda entry: entry.created_at < cutoff))

    async def anonymise_user(self, user_id: int) -> None:
        personal: dict[str, Any] = {"ip_address": None, "details": {}}
        self.session.update(self.db.audit, lambda entry: entry.user_id == user_id, user_id=None, **personal)
        self.session.update(self.db.audit, lambda entry: entry.actor_id == user_id, actor_id=None, **personal)
