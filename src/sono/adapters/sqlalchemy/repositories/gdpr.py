"""Consents, deletion requests and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, or_, select, update

from sono.adapters.sqlalchemy.repositories.base import SqlRepository, newest, repository
from sono.adapters.sqlalchemy.tables.gdpr import audit_log, consents, deletion_requests
from sono.application.values import Page
from sono.domain.gdpr import AuditEntry, AuditFilter, Consent, DeletionRequest, DeletionStatus


@repository("consents")
class SqlConsentRepository(SqlRepository):
    _newest_first = newest(consents.c.given_at, consents.c.id)

    async def add(self, consent: Consent) -> Consent:
        return await self._insert(consent)

    async def list_for_user(self, user_id: int) -> list[Consent]:
        return await self._all(select(Consent).where(consents.c.user_id == user_id).order_by(*self._newest_first))

    async def active_of_type(self, user_id: int, consent_type: str) -> list[Consent]:
        active = (
            consents.c.user_id == user_id,
            consents.c.consent_type == consent_type,
            consents.c.withdrawn_at.is_(None),
        )
        return await self._all(select(Consent).where(*active).order_by(*self._newest_first))


@repository("deletions")
class SqlDeletionRequestRepository(SqlRepository):
    _newest_first = newest(deletion_requests.c.requested_at, deletion_requests.c.id)

    async def add(self, request: DeletionRequest) -> DeletionRequest:
        return await self._insert(request, may_conflict=True)

    async def pending_for_user(self, user_id: int) -> DeletionRequest | None:
        pending = (deletion_requests.c.user_id == user_id, deletion_requests.c.status == DeletionStatus.PENDING)
        return await self._first(select(DeletionRequest).where(*pending))

    async def list_for_user(self, user_id: int) -> list[DeletionRequest]:
        return await self._all(self._of_user(user_id))

    async def claim_due(self, now: datetime, limit: int) -> list[DeletionRequest]:
        due = (deletion_requests.c.status == DeletionStatus.PENDING, deletion_requests.c.scheduled_for <= now)
        statement = (
            select(DeletionRequest)
            .where(*due)
            .order_by(deletion_requests.c.scheduled_for, deletion_requests.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return await self._all(statement)

    def _of_user(self, user_id: int) -> Select[DeletionRequest]:
        return select(DeletionRequest).where(deletion_requests.c.user_id == user_id).order_by(*self._newest_first)


@repository("audit")
class SqlAuditLogRepository(SqlRepository):
    async def add(self, entry: AuditEntry) -> None:
        self.session.add(entry)

    async def list_for_user(self, user_id: int) -> list[AuditEntry]:
        statement = (
            select(AuditEntry)
            .where(or_(audit_log.c.user_id == user_id, audit_log.c.actor_id == user_id))
            .order_by(*newest(audit_log.c.created_at, audit_log.c.id))
        )
        return await self._all(statement)

    async def search(self, spec: AuditFilter, *, skip: int, limit: int) -> Page[AuditEntry]:
        statement = select(AuditEntry).where(*_audit_conditions(spec))
        return await self._page(statement, newest(audit_log.c.created_at, audit_log.c.id), skip, limit)

    async def delete_older_than(self, cutoff: datetime) -> int:
        return await self._bulk(delete(AuditEntry).where(audit_log.c.created_at < cutoff))

    async def anonymise_user(self, user_id: int) -> None:
        personal: dict[str, Any] = {"ip_address": None, "details": {}}
        for column in (audit_log.c.user_id, audit_log.c.actor_id):
            await self._bulk(update(AuditEntry).where(column == user_id).values({column.key: None, **personal}))


def _audit_conditions(spec: AuditFilter) -> list[ColumnElement[bool]]:
    """``AuditFilter.matches`` as SQL conditions (the same fields, the same meaning)."""
    c = audit_log.c
    conditions: list[ColumnElement[bool]] = []
    if spec.actor_id is not None:
        conditions.append(c.actor_id == spec.actor_id)
    if spec.user_id is not None:
        conditions.append(c.user_id == spec.user_id)
    if spec.since is not None:
        conditions.append(c.created_at >= spec.since)
    if spec.until is not None:
        conditions.append(c.created_at < spec.until)
    if spec.action is not None:
        prefix = spec.event_prefix
        if prefix is not None:
            conditions.append(c.event.startswith(prefix, autoescape=True))
        else:
            conditions.append(or_(c.event == spec.action, c.details["action"].as_string() == spec.action))
    return conditions
